"""Helpers for the sandbox integration tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import hashlib
from typing import Any

from xconduit.sandbox import Sandbox
from xconduit.xads import XCredentials

ACCOUNT = "18ce552mlaq"
PIXEL = "oka17"
EVENT = "ol288"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def conversion(n: int = 0, **overrides: Any) -> dict[str, Any]:
    return {
        "conversion_time": "2024-05-01T12:00:00.000Z",
        "event_id": EVENT,
        "identifiers": [{"hashed_email": sha(f"user{n}@example.com")}],
        "conversion_id": f"order-{n}",
        **overrides,
    }


def credentials_of(sb: Sandbox, **overrides: str) -> XCredentials:
    c = sb.credentials
    values = {
        "consumer_key": c.consumer_key,
        "consumer_secret": c.consumer_secret,
        "access_token": c.access_token,
        "access_token_secret": c.access_token_secret,
        **overrides,
    }
    return XCredentials(**values)
