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

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from xconduit.errors import ConfigError
from xconduit.normalize.redact import private_id


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
