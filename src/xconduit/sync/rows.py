"""A row of a sync's query → the Segment `track` event it stands for, parsed by the collector's
own parser (pure); `sync.mapper` then takes it through the mapping core to a conversion, so a
row and the equivalent Segment event give the same conversion, byte for byte. What only a row
can get wrong (a pre-hashed column that is not SHA-256 hex, a time of the wrong type, contents
that are not JSON) and what the parser refuses are a `RowProblem` naming the field and the rule.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import orjson

from xconduit.config.priority import fold
from xconduit.errors import InvalidEvent
from xconduit.events import Event, parse_event
from xconduit.mapping import format_time
from xconduit.normalize import MISSING_IDENTIFIER

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")

# Conversion field → the event property the collector reads it from (docs/reference/mapping.md).
PROPERTY = {
    "email": "email",
    "phone": "phone",
    "twclid": "twclid",
    "ip_address": "ip_address",
    "user_agent": "user_agent",
    "value": "value",
    "currency": "currency",
    "conversion_id": "conversion_id",
    "number_items": "quantity",
    "description": "description",
}

# X's content keys → the Segment product keys the mapping reads (content_id per destination).
_CONTENT_KEYS = {
    "content_name": "name",
    "content_type": "category",
    "content_price": "price",
    "num_items": "quantity",
    "content_group_id": "product_group_id",
}


# A field as the collector names it in a reason → the conversion field of `columns`.
_FIELD_NAMES = {
    "timestamp": "conversion_time",
    "quantity": "number_items",
    "products": "contents",
    "price_currency": "currency",
    "userId": "user_id",
}

UNREADABLE = (InvalidEvent, TypeError, ValueError, OverflowError, RecursionError)
"""What the collector's parser or mapping core raises for an event it cannot take."""


class RowProblem(Exception):
    """A row that cannot be an event: the conversion field at fault and the rule it breaks."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


@dataclass(frozen=True, kw_only=True, slots=True)
class RowShape:
    """How one sync reads its rows."""

    sync: str
    columns: Mapping[str, str]
    """Conversion field → column name."""
    event: str = ""
    event_column: str = ""
    hashing: bool = True
    product_identifier: str = "product_id"

    def plan(self) -> tuple[tuple[str, str, str, int], ...]:
        """(field, property, column, how) for each mapped property, computed once per sync:
        how = 1 pre-hashed check, 2 text, 3 item count, 0 as read."""
        steps = []
        for field, prop in PROPERTY.items():
            column = self.columns.get(field)
            if column is None:
                continue
            if field in ("email", "phone") and not self.hashing:
                how = 1
            elif field in ("conversion_id", "currency"):
                how = 2
            else:
                how = 3 if field == "number_items" else 0
            steps.append((field, prop, column, how))
        return tuple(steps)


def row_key(sync: str, generation: int, values: tuple[Any, ...]) -> tuple[str, str]:
    """(message id, content digest) of a row: the same row read again gets the same id, so the
    outbox drops it as already sent; a changed row (or a `--full` run) is a new event."""
    digest = base64.urlsafe_b64encode(
        hashlib.blake2b(orjson.dumps(values, default=str), digest_size=16).digest()
    ).decode()[:22]
    return f"{sync}:{generation}:{digest}", digest


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return value if isinstance(value, str) else str(value)


def event_time(value: Any, field: str = "conversion_time") -> str:
    """X's time form of a timestamp column or ISO 8601 text; no zone means UTC."""
    if isinstance(value, datetime):
        return format_time(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, date):
        return format_time(datetime.combine(value, time(), tzinfo=UTC))
    if isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise RowProblem(field, "not an ISO 8601 date-time") from None
        return format_time(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    if value is None or isinstance(value, str):
        raise RowProblem(field, "empty")
    raise RowProblem(field, "must be a timestamp column or ISO 8601 text")


def _prehashed(field: str, value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not _HEX64.fullmatch(value.strip()):
        raise RowProblem(field, "hashing = false: must be SHA-256 hex (64 hex characters)")
    return value.strip()


def _products(value: Any, product_identifier: str) -> list[dict[str, Any]] | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    items = value
    if isinstance(value, str | bytes):
        try:
            items = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise RowProblem("contents", "not valid JSON") from None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise RowProblem("contents", "must be a JSON array of objects")
    products = []
    for item in items:
        product = {}
        for key, part in item.items():
            if part is None:
                continue
            if key == "content_id":
                product[product_identifier] = part
            else:
                product[_CONTENT_KEYS.get(key, key)] = part
        products.append(product)
    return products


def _plain(value: Any) -> Any:
    """A column value as JSON would carry it to the collector."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def to_event(
    shape: RowShape,
    row: Mapping[str, Any],
    *,
    message_id: str,
    digest: str,
    plan: tuple[tuple[str, str, str, int], ...] | None = None,
) -> dict[str, Any]:
    """The Segment track event of one row (raises `RowProblem`); `plan`: `shape.plan()`."""
    columns = shape.columns
    properties: dict[str, Any] = {}
    for field, prop, column, how in plan if plan is not None else shape.plan():
        value = row[column]
        if how == 1:
            value = _prehashed(field, value)
        if value is None:
            continue
        if how == 2:
            value = _text(value)
        elif how == 3 and isinstance(value, Decimal | float):
            value = int(value) if math.isfinite(value) and value == int(value) else value
        properties[prop] = value if type(value) is str else _plain(value)
    if "conversion_id" not in properties:
        # A stable id, the same in every generation: X drops a row sent again (--full).
        properties["conversion_id"] = f"{shape.sync}-{digest}"
    if "contents" in columns:
        products = _products(row[columns["contents"]], shape.product_identifier)
        if products is not None:
            properties["products"] = products
    if shape.event_column:
        name = row[shape.event_column]
        if not isinstance(name, str) or not name.strip():
            raise RowProblem("event", "empty")
    else:
        name = shape.event
    event: dict[str, Any] = {
        "type": "track",
        "event": name,
        "messageId": message_id,
        "properties": properties,
    }
    user_id = row[columns["user_id"]] if "user_id" in columns else None
    if user_id is not None and user_id != "":
        event["userId"] = _text(user_id)
    else:
        event["anonymousId"] = message_id
    if "conversion_time" in columns:
        event["timestamp"] = event_time(row[columns["conversion_time"]])
    return event


def read_event(
    shape: RowShape,
    row: Mapping[str, Any],
    *,
    message_id: str,
    digest: str,
    received_at: str,
    events: frozenset[str] | set[str],
    plan: tuple[tuple[str, str, str, int], ...] | None = None,
) -> Event:
    """The row's event as the collector parses it (raises `RowProblem`); `events`: the folded
    names the destination maps, which an `event_column` must give."""
    raw = to_event(shape, row, message_id=message_id, digest=digest, plan=plan)
    if shape.event_column and fold(raw["event"]) not in events:
        raise RowProblem("event", "not one of the destination's events")
    raw["receivedAt"] = received_at
    try:
        return parse_event(raw, default_type="track")
    except UNREADABLE as exc:
        raise problem_of(exc) from None


def problem_of(exc: BaseException) -> RowProblem:
    """A refusal of the collector's parser or mapping core, in the collector's words."""
    if isinstance(exc, InvalidEvent):
        return RowProblem(field_of(exc.field or str(exc)), str(exc))
    # A shape no rule foresaw costs this row only (the collector does the same).
    error = f"event: cannot be read ({type(exc).__name__})"
    return RowProblem(field_of(error), error)


def field_of(text: str) -> str:
    """The conversion field a collector's reason or field name is about."""
    if text == MISSING_IDENTIFIER:
        return "identifiers"
    name = text.split(":", 1)[0].strip().removeprefix("properties.").split(".")[0].split("[")[0]
    return _FIELD_NAMES.get(name, name)
