"""The X sandbox: a faithful local fake of the X Ads API parts xconduit uses.

    sb = Sandbox()                              # demo seed, demo credentials
    with serve_sandbox(sb) as base_url:         # real HTTP on 127.0.0.1
        ...
    sb.conversions(); sb.faults.schedule("conversions", [500, 200])

Reference: docs/reference/sandbox.md.
"""

from __future__ import annotations

from xconduit.sandbox.app import Sandbox
from xconduit.sandbox.credentials import SandboxCredentials
from xconduit.sandbox.faults import Fault, FaultInjector, parse_fault
from xconduit.sandbox.ratelimit import RateLimit
from xconduit.sandbox.seed import (
    DEMO_SEED,
    Seed,
    SeedAccount,
    SeedAudience,
    SeedEvent,
    SeedPixel,
    SeedUser,
    load_seed,
)
from xconduit.sandbox.server import serve_sandbox
from xconduit.sandbox.transport import InProcessTransport

__all__ = [
    "DEMO_SEED",
    "Fault",
    "FaultInjector",
    "InProcessTransport",
    "RateLimit",
    "Sandbox",
    "SandboxCredentials",
    "Seed",
    "SeedAccount",
    "SeedAudience",
    "SeedEvent",
    "SeedPixel",
    "SeedUser",
    "load_seed",
    "parse_fault",
    "serve_sandbox",
]
