"""The cursor keeps its type between runs and never passes a row that is not committed."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from xconduit.sync.cursor import CursorGuard, CursorTracker, decode, encode, shown


@pytest.mark.parametrize(
    "value",
    [
        41,
        2.5,
        Decimal("10.10"),
        "2026-03-01",
        date(2026, 3, 1),
        datetime(2026, 3, 1, 12, 30, 15, 123456),
        datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
        None,
    ],
)
def test_a_cursor_value_comes_back_with_its_type(value: object) -> None:
    back = decode(encode(value))
    assert back == value
    assert type(back) is type(value)


def test_in_order_the_safe_cursor_is_the_last_value_whose_rows_are_all_read() -> None:
    tracker = CursorTracker(start=0)
    for value in (1, 2, 2):  # a batch ends in the middle of the rows carrying 2
        tracker.see(value)
    assert tracker.safe() == 1  # rows with 2 may follow: the next run must read them again
    tracker.see(3)
    assert tracker.safe() == 2
    assert tracker.final() == 3


def test_out_of_order_rows_move_the_cursor_only_at_the_end() -> None:
    tracker = CursorTracker(start=None)
    for value in (5, 6, 2, 9, 7):
        tracker.see(value)
    assert not tracker.ordered
    assert tracker.safe() is None
    assert tracker.final() == 9


def test_the_cursor_never_moves_back() -> None:
    tracker = CursorTracker(start=10)
    for value in (3, 4, None, 5):  # a query that ignores :cursor
        tracker.see(value)
    assert tracker.safe() == 10
    assert tracker.final() == 10


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=11)


@pytest.mark.parametrize(
    ("start", "values", "refused"),
    [
        # the kind of most values of the first batch, on a first run
        (None, ["2026-03-01 09:00", "soon", "2026-03-01 09:02"], {1: "not a date-time"}),
        (None, [1, 2, "three"], {2: "not a number"}),
        (None, ["b", "a", "2026-03-01"], {2: "not a text"}),
        # the stored cursor's kind wins over the batch's
        (datetime(2026, 1, 1), ["soon", "later"], {0: "not a date-time", 1: "not a date-time"}),
        # more than 10 minutes ahead, whatever the form of the time
        (None, [NOW, LATER, NOW + timedelta(minutes=9)], {1: "in the future"}),
        (None, ["2026-03-01T12:11:00Z", "2026-03-01T12:09:00"], {0: "in the future"}),
        (None, [date(2026, 3, 2), date(2026, 3, 1)], {0: "in the future"}),
        (None, [None, 5, None], {}),
        (datetime(2026, 1, 1), [None, 5], {1: "not a date-time"}),
    ],
)
def test_cursor_guard(start: Any, values: list[Any], refused: dict[int, str]) -> None:
    guard = CursorGuard(start=start, now=NOW)
    found = guard.check(_arrow(values), values)
    assert sorted(found) == sorted(refused)
    for index, words in refused.items():
        assert words in found[index]


def _arrow(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


@pytest.mark.parametrize("tz", [None, "UTC"])
def test_cursor_guard_compares_timestamp_columns_in_arrow(tz: str | None) -> None:
    times = [NOW, LATER, None]
    plain = [t if tz or t is None else t.replace(tzinfo=None) for t in times]
    column = pa.array(plain, pa.timestamp("us", tz=tz))
    assert list(CursorGuard(start=None, now=NOW).check(column, plain)) == [1]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "(start)"),
        (42, "42"),
        (datetime(2026, 3, 1, 9, 0, tzinfo=UTC), "2026-03-01 09:00:00+00:00"),
        ("2024-11-30-000123", "2024-11-30-000123"),
        # a cursor column holding personal data is shown as its SHA-256, like a conversion id
        ("jane@example.com", hashlib.sha256(b"jane@example.com").hexdigest()),
        ("c +1 415 555 0142", hashlib.sha256(b"c +1 415 555 0142").hexdigest()),
    ],
)
def test_a_cursor_is_shown_without_personal_data(value: object, expected: str) -> None:
    assert shown(encode(value)) == expected
