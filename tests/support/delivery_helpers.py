"""Jobs for the delivery tests: conversions the sandbox accepts, and ones it rejects."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import orjson

from xconduit.outbox import IncomingEvent, NewJob, Store
from xconduit.sandbox import Sandbox
from xconduit.xads import XCredentials

ACCOUNT = "18ce552mlaq"
PIXEL = "oka17"
EVENT = "ol288"
DESTINATION = "shop"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def conversion(n: int, **overrides: Any) -> dict[str, Any]:
    return {
        "conversion_time": "2024-05-01T12:00:00.000Z",
        "event_id": EVENT,
        "identifiers": [{"hashed_email": sha(f"user{n}@example.com")}],
        "conversion_id": f"order-{n}",
        **overrides,
    }


def enqueue(store: Store, conversions: list[dict[str, Any]], *, now: float) -> None:
    events = [
        IncomingEvent(
            source="test",
            message_id=f"m-{c['conversion_id']}",
            jobs=(
                NewJob(
                    destination=DESTINATION,
                    account_id=ACCOUNT,
                    pixel_id=PIXEL,
                    message_id=f"m-{c['conversion_id']}",
                    conversion_id=str(c["conversion_id"]),
                    payload=orjson.dumps(c),
                ),
            ),
        )
        for c in conversions
    ]
    for start in range(0, len(events), 5000):
        store.commit_events(events[start : start + 5000], now=now)


def credentials_of(sb: Sandbox) -> XCredentials:
    c = sb.credentials
    return XCredentials(
        consumer_key=c.consumer_key,
        consumer_secret=c.consumer_secret,
        access_token=c.access_token,
        access_token_secret=c.access_token_secret,
    )


class Clock:
    """Starts at the real time (X's reset headers are real epochs); `sleep` only moves it."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
