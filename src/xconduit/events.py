"""Segment-spec events: the input of everything else (pure: no clock, no I/O).

`parse_event` turns one decoded JSON object into an `Event` or raises `InvalidEvent` naming the
field and the rule. `loads` decodes JSON the tolerant way Segment does: orjson first, and for the
inputs orjson refuses but browsers and libraries still send (NaN, Infinity, lone surrogates)
the standard library, with the oddities cleaned so that the result can be re-encoded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

import orjson

from xconduit.errors import InvalidEvent

EventType = Literal["track", "page", "screen", "identify", "group", "alias"]
EVENT_TYPES: frozenset[str] = frozenset(("track", "page", "screen", "identify", "group", "alias"))

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class Event(NamedTuple):
    """One Segment event after parsing. Immutable; its dict fields are read-only by convention.

    A NamedTuple rather than a frozen dataclass: building a frozen dataclass of 16 fields costs
    about 1 µs, a third of the hot path's per-event budget (docs/explanation/performance.md).
    """

    type: EventType
    message_id: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    event: str | None = None
    """The track event name (`track` only)."""
    name: str | None = None
    """The page or screen name (`page`/`screen` only)."""
    group_id: str | None = None
    previous_id: str | None = None
    timestamp: str | None = None
    """ISO-8601 text as received (validated); `event_time` parses it."""
    original_timestamp: str | None = None
    sent_at: str | None = None
    received_at: str | None = None
    properties: Mapping[str, Any] = _EMPTY
    traits: Mapping[str, Any] = _EMPTY
    context: Mapping[str, Any] = _EMPTY
    integrations: Mapping[str, Any] = _EMPTY


_new_event = tuple.__new__


MAX_DEPTH = 64
"""Deepest nesting accepted in an event's JSON; Segment's own payloads are a few levels deep."""


def loads(data: bytes | str, *, max_depth: int | None = MAX_DEPTH) -> Any:
    """Decode JSON like Segment's collector: strict and fast first, tolerant second.

    Raises `InvalidEvent` for anything that is not JSON, nests deeper than `max_depth` (None:
    as deep as the parsers read, for a batch whose events are measured one by one), or holds
    an integer too long to read; never another exception, whatever the input.
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    else:
        # orjson itself allows 1024 levels. Fewer than max_depth brackets cannot nest deeper,
        # which spares the walk for nearly every event (counting is C speed).
        if max_depth is not None and _brackets(data) > max_depth and nests_deeper(value, max_depth):
            raise InvalidEvent(f"not valid JSON: nested deeper than {max_depth} levels")
        return value
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    limit = f"{max_depth} levels" if max_depth is not None else "the parser reads"
    try:
        return _clean(json.loads(text), 0, max_depth)
    except json.JSONDecodeError as exc:
        raise InvalidEvent(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidEvent(f"not valid JSON: nested deeper than {limit}") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise InvalidEvent(f"not valid JSON: {exc}") from None


def _brackets(data: bytes | str) -> int:
    if isinstance(data, str):
        return data.count("{") + data.count("[")
    return data.count(b"{") + data.count(b"[")


def nests_deeper(value: Any, max_depth: int = MAX_DEPTH) -> bool:
    """Whether decoded JSON nests deeper than `max_depth` levels (iterative: no recursion
    limit; the value itself is level 1)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return True
        if type(item) is not dict and type(item) is not list:
            continue
        children = item.values() if type(item) is dict else item
        for child in children:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return False


def _clean(value: Any, depth: int, max_depth: int | None) -> Any:
    """Make stdlib-decoded JSON safe to re-encode: NaN/Infinity → null, lone surrogates → U+FFFD."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, str):
        if _has_surrogate(value):
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return value
    if max_depth is not None and depth >= max_depth and isinstance(value, list | dict):
        raise InvalidEvent(f"not valid JSON: nested deeper than {max_depth} levels")
    if isinstance(value, list):
        return [_clean(v, depth + 1, max_depth) for v in value]
    if isinstance(value, dict):
        return {
            _clean(k, depth + 1, max_depth): _clean(v, depth + 1, max_depth)
            for k, v in value.items()
        }
    return value


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse_event(raw: Any, *, default_type: str | None = None) -> Event:
    """Validate one decoded JSON object as a Segment event.

    `default_type` is the type implied by the endpoint (`/v1/track` → "track"); a `type` in the
    body wins when both are given, as in Segment's API.
    """
    if not isinstance(raw, dict):
        raise InvalidEvent(f"event: must be a JSON object, got {_kind(raw)}", field="event")
    etype = raw.get("type") or default_type
    if type(etype) is not str or etype not in EVENT_TYPES:
        # Never the value itself: whatever is in a wrong field may be personal data.
        got = "nothing" if etype is None else "another text" if type(etype) is str else _kind(etype)
        raise InvalidEvent(
            f"type: must be one of track, page, screen, identify, group, alias; got {got}",
            field="type",
        )
    user_id = _id(raw, "userId")
    anonymous_id = _id(raw, "anonymousId")
    if user_id is None and anonymous_id is None:
        raise InvalidEvent("userId: an event needs a userId or an anonymousId", field="userId")
    event_name = None
    if etype == "track":
        event_name = raw.get("event")
        if not isinstance(event_name, str) or not event_name.strip():
            raise InvalidEvent("event: a track call needs a non-empty event name", field="event")
    name = _opt_str(raw, "name") if etype in ("page", "screen") else None
    group_id = _id(raw, "groupId") if etype == "group" else None
    if etype == "group" and group_id is None:
        raise InvalidEvent("groupId: a group call needs a groupId", field="groupId")
    previous_id = _id(raw, "previousId") if etype == "alias" else None
    if etype == "alias" and previous_id is None:
        raise InvalidEvent("previousId: an alias call needs a previousId", field="previousId")
    return _new_event(  # positional, in field order: the fast way to build the tuple
        Event,
        (
            etype,
            _id(raw, "messageId"),
            user_id,
            anonymous_id,
            event_name,
            name,
            group_id,
            previous_id,
            _time(raw, "timestamp"),
            _time(raw, "originalTimestamp"),
            _time(raw, "sentAt"),
            _time(raw, "receivedAt"),
            _obj(raw, "properties"),
            _obj(raw, "traits"),
            _obj(raw, "context"),
            _obj(raw, "integrations"),
        ),
    )


def event_time(text: str | None) -> datetime | None:
    """An event's time field as an aware datetime (validated by `parse_event` already)."""
    return None if text is None else parse_time(text)


def parse_time(value: str) -> datetime:
    """Parse an ISO-8601 date-time; naive values are taken as UTC. Raises ValueError."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )


def _id(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        # Segment libraries send numeric ids as numbers; Segment stores them as strings.
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    raise InvalidEvent(f"{key}: must be a string, got {_kind(value)}", field=key)


def _opt_str(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    raise InvalidEvent(f"{key}: must be a string, got {_kind(value)}", field=key)


def _obj(raw: dict[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}  # a fresh plain dict: lookups on dicts skip the slower Mapping ABC check
    if isinstance(value, dict):
        return value
    raise InvalidEvent(f"{key}: must be an object, got {_kind(value)}", field=key)


def _time(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidEvent(f"{key}: must be an ISO-8601 date string, got {_kind(value)}", field=key)
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise InvalidEvent(
            f"{key}: not an ISO-8601 date (e.g. 2024-05-01T12:00:00.000Z)", field=key
        ) from None
    return value
