"""A sync's cursor: how its value is stored, and which value is safe to store mid-run (pure).

The cursor is stored as JSON `{"type": …, "value": …}` so that the next run binds `:cursor` with
the type the source gave (an integer, a decimal, text, a date, a timestamp with or without its
zone), never a string the database would compare differently.

Mid-run, rows are committed a batch at a time. When the source returns rows in cursor order, a
value is *complete* once a greater value has been read: every row carrying it is in a committed
batch. `CursorTracker.safe` is the greatest complete value, so a crash can re-read the rows of
the last value (they are dropped as already sent) but never skips one. When rows come out of
order the cursor only moves once the whole result has been read.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

from xconduit.errors import ConfigError
from xconduit.mapping.conversions import FUTURE_SLACK
from xconduit.normalize.redact import private_id

if TYPE_CHECKING:
    import pyarrow as pa


def encode(value: Any) -> str | None:
    """The stored form of a cursor value; None stays None (from the start)."""
    if value is None:
        return None
    plain: Any
    if isinstance(value, bool):
        kind, plain = "bool", value
    elif isinstance(value, int):
        kind, plain = "int", value
    elif isinstance(value, float):
        kind, plain = "float", value
    elif isinstance(value, Decimal):
        kind, plain = "decimal", str(value)
    elif isinstance(value, datetime):
        kind, plain = "datetime", value.isoformat()
    elif isinstance(value, date):
        kind, plain = "date", value.isoformat()
    elif isinstance(value, str):
        kind, plain = "str", value
    else:
        raise ConfigError(
            f"the cursor column holds {type(value).__name__} values; use a number, text, date "
            "or timestamp column"
        )
    return orjson.dumps({"type": kind, "value": plain}).decode()


def decode(stored: str | None) -> Any:
    """The value to bind to `:cursor`, from its stored form."""
    if stored is None:
        return None
    item = orjson.loads(stored)
    kind, value = item["type"], item["value"]
    readers: dict[str, Any] = {
        "decimal": Decimal,
        "datetime": datetime.fromisoformat,
        "date": date.fromisoformat,
    }
    return readers[kind](value) if kind in readers else value


def shown(stored: str | None) -> str:
    """The stored cursor as a person reads it (the dashboard, `xconduit sync`): its SHA-256 when
    it contains an email address or a phone number, as a conversion id is shown."""
    value = decode(stored)
    return "(start)" if value is None else private_id(str(value))


class CursorTracker:
    """Follows the cursor column's values in read order."""

    def __init__(self, start: Any) -> None:
        self.start = start
        self._max: Any = None
        self._complete: Any = None
        self._last: Any = None
        self.ordered = True

    def see(self, value: Any) -> None:
        """One row's cursor value (None is ignored: such a row never matches `> :cursor`)."""
        if value is None or not self.ordered:
            if value is not None:
                self._bump_max(value)
            return
        last = self._last
        try:
            if last is not None and value < last:
                self.ordered = False
            elif last is not None and value > last:
                self._complete = last
        except TypeError:  # values of two types (a SQLite column): no order to rely on
            self.ordered = False
        self._last = value
        self._bump_max(value)

    def _bump_max(self, value: Any) -> None:
        try:
            if self._max is None or value > self._max:
                self._max = value
        except TypeError:
            self.ordered = False

    def safe(self) -> Any:
        """The value to store after a committed batch (the start when nothing is complete)."""
        return self._not_below_start(self._complete if self.ordered else None)

    def final(self) -> Any:
        """The value to store once every row was read."""
        return self._not_below_start(self._max)

    def _not_below_start(self, value: Any) -> Any:
        # A query that ignores :cursor may read older rows: the cursor never moves back.
        if value is None:
            return self.start
        try:
            return value if self.start is None or value > self.start else self.start
        except TypeError:
            return value


NUMBER, TIME, TEXT = "number", "date-time", "text"
"""The kinds of cursor value a guard tells apart."""


def _time_text(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def kind_of(value: Any) -> str | None:
    """A cursor value's kind: text that reads as an ISO 8601 date or time is a date-time."""
    if value is None:
        return None
    if isinstance(value, int | float | Decimal):
        return NUMBER
    if isinstance(value, datetime | date):
        return TIME
    if isinstance(value, str) and _time_text(value) is not None:
        return TIME
    return TEXT


def _moment(value: Any) -> datetime | None:
    """A date-time cursor value as an aware datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    return _time_text(value) if isinstance(value, str) else None


class CursorGuard:
    """Finds the rows whose cursor value must not move the cursor: one not of the cursor's kind
    (text in a date-time column, which would compare above every later date), or a date-time
    more than `FUTURE_SLACK` ahead (every later row would compare below it). Such a row is
    rejected and read again by the next run, when it may have become sendable.

    The cursor's kind is the stored cursor's (or `cursor_start`'s); on a first run, the kind of
    most values of the first batch."""

    def __init__(self, *, start: Any, now: datetime) -> None:
        self.kind = kind_of(start)
        self._latest = now + FUTURE_SLACK

    def check(self, column: pa.Array | pa.ChunkedArray, values: list[Any]) -> dict[int, str]:
        """Row index → why its cursor value is refused, for one batch's cursor `values`
        (`column`: the same values as Arrow, compared there when they are timestamps)."""
        import pyarrow as pa

        if self.kind is None:
            kinds = Counter(kind_of(value) for value in values if value is not None)
            if not kinds:
                return {}
            self.kind = kinds.most_common(1)[0][0]
        kind = column.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            if self.kind == NUMBER:
                return {}
            return {index: self._not() for index, value in enumerate(values) if value is not None}
        if pa.types.is_timestamp(kind) and self.kind == TIME:
            return self._future_timestamps(column)
        refused: dict[int, str] = {}
        for index, value in enumerate(values):
            if value is None:
                continue
            if kind_of(value) != self.kind:
                refused[index] = self._not()
            elif self.kind == TIME and (moment := _moment(value)) and moment > self._latest:
                refused[index] = FUTURE
        return refused

    def _not(self) -> str:
        return f"not a {self.kind} like the cursor column's other values; {STAYS}"

    def _future_timestamps(self, column: pa.Array | pa.ChunkedArray) -> dict[int, str]:
        import pyarrow as pa
        import pyarrow.compute as pc

        latest = self._latest if column.type.tz else self._latest.replace(tzinfo=None)
        ahead = pc.greater(column, pa.scalar(latest, type=column.type))
        if not pc.any(ahead).as_py():
            return {}
        return {index: FUTURE for index, flag in enumerate(ahead.to_pylist()) if flag}


STAYS = "the cursor stays before this row, which the next run reads again"
FUTURE = f"more than {FUTURE_SLACK.seconds // 60} minutes in the future; {STAYS}"
