"""Segment events as clients send them, for the tests of the collector."""

from __future__ import annotations

import hashlib
from typing import Any

EMAIL = "Jane.Doe@Example.com"
EMAIL_HASH = hashlib.sha256(b"jane.doe@example.com").hexdigest()


def order(message_id: str | None = "m-1", **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "track",
        "userId": "u-1",
        "event": "Order Completed",
        "properties": {"email": EMAIL, "revenue": 42.5, "order_id": f"o-{message_id}"},
    }
    if message_id is not None:
        event["messageId"] = message_id
    event.update(extra)
    return event
