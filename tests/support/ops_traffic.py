"""Known traffic for the operations tests, and a gateway pointed at a sandbox on loopback.

8 events from source "web" to destination "shop":
  3 delivered (one also carries a phone, one an unusable email: dropped "email"),
  2 filtered (an event the destination does not map),
  1 invalid (no identifier at all),
  1 held (mapped to an event id X does not know: a setup error, so delivery to "shop" pauses
    and the job stays pending until the check passes; nothing is dead),
  1 duplicate of a delivered one (not counted twice)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from xconduit.sandbox.credentials import SandboxCredentials

WRITE_KEY = "wk-ops-test"
EMAILS = ("ann@example.com", "bob@example.com", "cyd@example.com", "dan@example.com")
PHONE = "+1 415 555 0100"

EXPECTED = {
    "received": 7,
    "queued": 4,
    "filtered": 2,
    "invalid": 1,
    "delivered": 3,
    "dead": 0,
    "held": 1,
    "dropped_email": 1,
}


def config_text(base_url: str, store: Path, *, extra: str = "") -> str:
    c = SandboxCredentials()
    return f"""
[server]
store = "sqlite:///{store}"

[x]
api = "{base_url}"
oauth_host = "{base_url}"
consumer_key = "{c.consumer_key}"
consumer_secret = "{c.consumer_secret}"
access_token = "{c.access_token}"
access_token_secret = "{c.access_token_secret}"

[delivery]
batch_age = "0.2s"

[[sources]]
name = "web"
write_keys = ["{WRITE_KEY}"]

[[conversions]]
name = "shop"
account_id = "18ce552mlaq"
pixel_id = "oka17"
events = {{ "Order Completed" = "ol288", "Broken Thing" = "ol999" }}
{extra}
"""


def _track(n: int, event: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "messageId": f"ops-{n}",
        "userId": f"user-{n}",
        "event": event,
        "properties": {"order_id": f"order-{n}", "revenue": 10 + n, **properties},
    }


def known_traffic() -> list[dict[str, Any]]:
    return [
        _track(1, "Order Completed", email=EMAILS[0]),
        _track(2, "Order Completed", email=EMAILS[1], phone=PHONE),
        _track(3, "Order Completed", email="not-an-email", phone=PHONE),
        _track(4, "Product Viewed", email=EMAILS[2]),
        _track(5, "Wishlist Shared", email=EMAILS[2]),
        _track(6, "Order Completed"),
        _track(7, "Broken Thing", email=EMAILS[3]),
        _track(1, "Order Completed", email=EMAILS[0]),  # a resend: a duplicate
    ]


def send_known_traffic(base_url: str) -> None:
    with httpx.Client(base_url=base_url, auth=(WRITE_KEY, ""), timeout=10) as http:
        answer = http.post("/v1/batch", json={"batch": known_traffic()})
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] == EXPECTED["received"]


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 60.0) -> None:
    """Poll until `condition` holds (no timing is asserted; the deadline only ends a hang)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)
