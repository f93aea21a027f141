"""`SandboxContext`: what the routes and the middleware may use, built once by `Sandbox`.

Routes get this rather than the `Sandbox`, so they do not import `app.py` and cannot reach its
Python API; `Sandbox` is the one composition root.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from xconduit.sandbox.faults import FaultInjector
from xconduit.sandbox.oauth import OAuthVerifier
from xconduit.sandbox.ratelimit import RateLimiter
from xconduit.sandbox.state import SandboxState


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxContext:
    """The sandbox's parts: its world, injected faults, rate budgets, OAuth check and clock."""

    state: SandboxState
    faults: FaultInjector
    limiter: RateLimiter
    oauth: OAuthVerifier
    clock: Callable[[], float]

    def reset(self) -> None:
        """Forget conversions, requests, audiences (back to the seed), budgets, faults, nonces."""
        self.state.reset()
        self.limiter.reset()
        self.faults.clear()
        self.oauth.reset()
