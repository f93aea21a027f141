"""Segment's own Python library (segment-analytics-python) pointed at the gateway."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from segment.analytics import Client

from tests.support.gateway_live import SERVER_KEY
from xconduit.app import Gateway


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.mark.parametrize("gzip", [False, True])
def test_track_identify_and_batches_reach_the_sandbox(
    live: tuple[Gateway, str],
    sandbox_conversions: Callable[[int], list[dict[str, Any]]],
    gzip: bool,
) -> None:
    errors: list[Any] = []
    client = Client(
        SERVER_KEY,
        host=live[1],
        gzip=gzip,
        on_error=lambda error, batch: errors.append(error),
        max_retries=1,
        upload_size=50,
    )
    client.identify("user-7", {"email": "Seven@Example.com", "plan": "pro"})
    client.track(
        "user-7",
        "Order Completed",
        {"order_id": "ord-7", "revenue": 70, "currency": "EUR", "email": "Seven@Example.com"},
    )
    client.track(
        "user-8", "Signed Up", {"phone": "+1 (415) 555-0123"}, message_id="fixed-message-id"
    )
    for i in range(120):  # several batches of 50
        client.track(f"user-{i}", "Product Added", {"email": f"buyer{i}@example.com", "sku": "s"})
    client.flush()
    client.join()
    assert errors == []
    conversions = sandbox_conversions(122)
    assert len(conversions) == 122
    by_id = {c["conversion_id"]: c for c in conversions}
    order = by_id["ord-7"]
    assert order["event_id"] == "tw-oka17-ol288"
    assert order["identifiers"] == [{"hashed_email": sha("seven@example.com")}]
    assert order["value"] == "70.00"
    assert order["price_currency"] == "EUR"
    signed_up = by_id["fixed-message-id"]
    assert signed_up["event_id"] == "tw-oka17-ol289"
    assert signed_up["identifiers"] == [{"hashed_phone_number": sha("+14155550123")}]
    events = {c["event_id"] for c in conversions}
    assert events == {"tw-oka17-ol288", "tw-oka17-ol289", "tw-oka17-ol290"}


def test_sync_mode_sends_each_call_at_once(
    live: tuple[Gateway, str], sandbox_conversions: Callable[[int], list[dict[str, Any]]]
) -> None:
    client = Client(SERVER_KEY, host=live[1], sync_mode=True)
    client.track("u-1", "Order Completed", {"order_id": "sync-1", "email": "a@example.com"})
    [conversion] = sandbox_conversions(1)
    assert conversion["conversion_id"] == "sync-1"
