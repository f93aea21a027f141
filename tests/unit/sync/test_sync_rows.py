"""A row becomes the Segment event the collector would receive; what only a row can get wrong
is named with its field and rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from xconduit.config import DeliverySettings
from xconduit.sync.eta import delivery_seconds, spoken
from xconduit.sync.report import Rejection, mask, shown
from xconduit.sync.rows import RowProblem, RowShape, event_time, row_key, to_event

ALL = {
    "email": "e",
    "phone": "p",
    "twclid": "t",
    "ip_address": "ip",
    "user_agent": "ua",
    "value": "v",
    "currency": "c",
    "conversion_id": "id",
    "conversion_time": "ts",
    "number_items": "n",
    "description": "d",
    "contents": "items",
    "user_id": "u",
}
HEX = "a" * 64


def _event(row: dict[str, object], **shape: Any) -> dict[str, object]:
    return to_event(
        RowShape(
            sync="orders", columns=shape.pop("columns", ALL), event="Order Completed", **shape
        ),
        row,
        message_id="m-1",
        digest="d1",
    )


def test_every_column_kind_lands_where_the_collector_reads_it() -> None:
    row = {
        "e": "Jane@Example.com",
        "p": "+1 555 0100",
        "t": "click-1",
        "ip": "203.0.113.9",
        "ua": "Mozilla/5.0",
        "v": Decimal("25.50"),
        "c": "eur",
        "id": 1042,
        "ts": datetime(2026, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=2))),
        "n": Decimal("3"),
        "d": "spring sale",
        "items": '[{"content_id": "sku-1", "content_price": 9.5, "num_items": 2, "content_name": "Tea"}]',
        "u": "user-7",
    }
    assert _event(row) == {
        "type": "track",
        "event": "Order Completed",
        "messageId": "m-1",
        "userId": "user-7",
        "timestamp": "2026-03-01T08:00:00.000Z",
        "properties": {
            "email": "Jane@Example.com",
            "phone": "+1 555 0100",
            "twclid": "click-1",
            "ip_address": "203.0.113.9",
            "user_agent": "Mozilla/5.0",
            "value": "25.50",
            "currency": "eur",
            "conversion_id": "1042",
            "quantity": 3,
            "description": "spring sale",
            "products": [{"product_id": "sku-1", "price": 9.5, "quantity": 2, "name": "Tea"}],
        },
    }


def test_without_a_conversion_id_column_the_id_is_stable_across_generations() -> None:
    event = _event({"e": "a@b.co"}, columns={"email": "e"})
    assert event["properties"]["conversion_id"] == "orders-d1"  # type: ignore[index]
    first, _ = row_key("orders", 0, ("a@b.co",))
    again, _ = row_key("orders", 0, ("a@b.co",))
    full, _ = row_key("orders", 1, ("a@b.co",))
    changed, _ = row_key("orders", 0, ("a@b.com",))
    assert first == again
    assert len({first, full, changed}) == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 3, 1, 10, 0, 0, 123456), "2026-03-01T10:00:00.123Z"),  # no zone: UTC
        (datetime(2026, 3, 1, 10, 0, tzinfo=UTC), "2026-03-01T10:00:00.000Z"),
        (date(2026, 3, 1), "2026-03-01T00:00:00.000Z"),
        ("2026-03-01 10:00:00", "2026-03-01T10:00:00.000Z"),
        ("2026-03-01T10:00:00-05:00", "2026-03-01T15:00:00.000Z"),
    ],
)
def test_times_are_utc_when_they_have_no_zone(value: object, expected: str) -> None:
    assert event_time(value) == expected


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("yesterday", "not an ISO 8601 date-time"),
        (None, "empty"),
        (1767225600, "must be a timestamp column or ISO 8601 text"),
    ],
)
def test_bad_times_are_rejected(value: object, rule: str) -> None:
    with pytest.raises(RowProblem) as raised:
        event_time(value)
    assert (raised.value.field, raised.value.rule) == ("conversion_time", rule)


def test_pre_hashed_columns_must_be_sha256_hex() -> None:
    columns = {"email": "e", "phone": "p"}
    event = _event({"e": HEX.upper(), "p": None}, columns=columns, hashing=False)
    assert event["properties"] == {"email": HEX.upper(), "conversion_id": "orders-d1"}
    with pytest.raises(RowProblem) as raised:
        _event({"e": HEX, "p": "+15550100"}, columns=columns, hashing=False)
    assert raised.value.field == "phone"
    assert "64 hex characters" in raised.value.rule


def test_contents_must_be_a_json_array_of_objects() -> None:
    with pytest.raises(RowProblem, match="contents: not valid JSON"):
        _event({"items": "[{"}, columns={"contents": "items"})
    with pytest.raises(RowProblem, match="contents: must be a JSON array of objects"):
        _event({"items": '{"a": 1}'}, columns={"contents": "items"})


def test_the_report_masks_identifiers_and_free_text() -> None:
    assert mask("jane.doe@example.com") == "j***@e***"
    assert mask("+15550100") == "+***"
    email = Rejection(
        row=1, cursor=None, conversion_id="", field="email", column="e", rule="r", value="jane@x.io"
    )
    value = Rejection(
        row=1, cursor=None, conversion_id="", field="value", column="v", rule="r", value="n/a"
    )
    assert shown(email) == "j***@x***"
    assert shown(value) == "n/a"


def test_the_eta_counts_whole_windows_of_the_budget() -> None:
    budget = DeliverySettings()  # 60,000 per 15 min, 500 per request
    assert delivery_seconds(0, budget) == 0
    assert delivery_seconds(60_000, budget) == 0  # all in the current window
    assert delivery_seconds(60_001, budget) == 900
    assert delivery_seconds(1_000_000, budget) == 16 * 900  # 4 h
    assert spoken(16 * 900) == "4 h 0 min"
    slow_requests = DeliverySettings(requests_per_window=10, batch_size=100)
    assert delivery_seconds(5_000, slow_requests) == 4 * 900  # 50 requests, 10 per window
