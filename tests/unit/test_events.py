from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from xconduit.errors import InvalidEvent
from xconduit.events import event_time, loads, parse_event


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ([], "event", "event: must be a JSON object, got an array"),
        ("x", "event", "event: must be a JSON object, got a string"),
        ({"type": "click", "userId": "u"}, "type", "type: must be one of"),
        ({"userId": "u"}, "type", "got nothing"),
        ({"type": [None], "userId": "u"}, "type", "got an array"),
        ({"type": {"a": 1}, "userId": "u"}, "type", "must be one of"),
        ({"type": "track", "event": "A"}, "userId", "needs a userId or an anonymousId"),
        ({"type": "track", "userId": "u"}, "event", "needs a non-empty event name"),
        ({"type": "track", "userId": "u", "event": "  "}, "event", "non-empty event name"),
        ({"type": "track", "userId": "u", "event": 3}, "event", "non-empty event name"),
        ({"type": "group", "userId": "u"}, "groupId", "needs a groupId"),
        ({"type": "alias", "userId": "u"}, "previousId", "needs a previousId"),
        ({"type": "track", "userId": {"a": 1}, "event": "A"}, "userId", "must be a string"),
        (
            {"type": "track", "userId": "u", "event": "A", "properties": []},
            "properties",
            "properties: must be an object, got an array",
        ),
        (
            {"type": "track", "userId": "u", "event": "A", "context": "x"},
            "context",
            "must be an object",
        ),
        (
            {"type": "track", "userId": "u", "event": "A", "timestamp": "yesterday"},
            "timestamp",
            "timestamp: not an ISO-8601 date",
        ),
        (
            {"type": "track", "userId": "u", "event": "A", "timestamp": 17},
            "timestamp",
            "must be an ISO-8601 date string",
        ),
        ({"type": "page", "userId": "u", "name": ["x"]}, "name", "name: must be a string"),
    ],
)
def test_what_cannot_be_an_event_is_named(raw: Any, field: str, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message) as info:
        parse_event(raw)
    assert info.value.field == field


@pytest.mark.parametrize("etype", ["track", "page", "screen", "identify", "group", "alias"])
def test_every_segment_type_parses(etype: str) -> None:
    raw = {"type": etype, "anonymousId": "a", "event": "E", "groupId": "g", "previousId": "p"}
    assert parse_event(raw).type == etype


def test_endpoint_type_is_the_default_and_body_type_wins() -> None:
    assert parse_event({"userId": "u"}, default_type="identify").type == "identify"
    assert parse_event({"type": "page", "userId": "u"}, default_type="track").type == "page"


def test_fields_are_read_in_segment_spelling() -> None:
    event = parse_event(
        {
            "type": "track",
            "event": "Order Completed",
            "userId": 42,
            "anonymousId": "anon",
            "messageId": "m-1",
            "timestamp": "2024-05-01T12:00:00.250+02:00",
            "originalTimestamp": "2024-05-01T09:00:00",
            "receivedAt": "2024-05-01T10:00:00Z",
            "properties": {"revenue": 3},
            "context": {"ip": "1.2.3.4"},
            "traits": None,
        }
    )
    assert event.user_id == "42"
    assert event.message_id == "m-1"
    assert event.timestamp == "2024-05-01T12:00:00.250+02:00"  # kept as sent, validated
    assert event_time(event.timestamp) == datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=UTC)
    assert event_time(event.original_timestamp) == datetime(
        2024, 5, 1, 9, tzinfo=UTC
    )  # naive → UTC
    assert event.properties == {"revenue": 3}
    assert event.traits == {}


def test_loads_is_tolerant_the_way_segment_is() -> None:
    value = loads(b'{"a": NaN, "b": Infinity, "c": "\\ud800x", "d": [1.5]}')
    assert value == {"a": None, "b": None, "c": "\ufffdx", "d": [1.5]}


def test_loads_names_what_is_not_json() -> None:
    with pytest.raises(InvalidEvent, match="not valid JSON"):
        loads(b"{not json")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"a":' + b"[" * 900 + b"NaN" + b"]" * 900 + b"}", "nested deeper than 64 levels"),
        (b"[" * 100_000, "nested deeper than 64 levels"),
        (b'{"v":' + b"1" * 5000 + b"}", "not valid JSON"),
    ],
)
def test_hostile_json_is_an_invalid_event_never_a_crash(body: bytes, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        loads(body)


@pytest.mark.parametrize("depth", [65, 100, 1000])
def test_json_deeper_than_64_levels_is_refused_on_the_fast_path_too(depth: int) -> None:
    # Valid JSON that orjson reads (it allows 1024 levels): the limit is the gateway's own.
    body = b'{"a":' + b"[" * (depth - 1) + b"1" + b"]" * (depth - 1) + b"}"
    with pytest.raises(InvalidEvent, match="nested deeper than 64 levels"):
        loads(body)
    with pytest.raises(InvalidEvent, match="nested deeper than 64 levels"):
        loads(body.decode())


def test_json_of_64_levels_and_many_brackets_is_read() -> None:
    deep = b"[" * 63 + b"1" + b"]" * 63
    assert loads(b'{"a":' + deep + b"}")["a"] == loads(deep)
    wide = b'{"a":[' + b",".join([b"[{}]"] * 200) + b"]}"
    assert len(loads(wide)["a"]) == 200


PERSONAL = ("someone@example.com", "+1 (415) 555-0199")


@pytest.mark.parametrize("value", PERSONAL)
@pytest.mark.parametrize(
    ("field", "message"),
    [
        (
            "type",
            "type: must be one of track, page, screen, identify, group, alias; got another text",
        ),
        ("timestamp", "timestamp: not an ISO-8601 date (e.g. 2024-05-01T12:00:00.000Z)"),
        ("sentAt", "sentAt: not an ISO-8601 date (e.g. 2024-05-01T12:00:00.000Z)"),
        (
            "originalTimestamp",
            "originalTimestamp: not an ISO-8601 date (e.g. 2024-05-01T12:00:00.000Z)",
        ),
    ],
)
def test_errors_name_the_field_and_the_rule_never_the_value(
    value: str, field: str, message: str
) -> None:
    raw = {"type": "track", "userId": "u", "event": "A", field: value}
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw)
    assert str(caught.value) == message
    assert caught.value.field == field
