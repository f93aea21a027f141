"""Timestamp columns read the fast way give the values Arrow's own `to_pylist` gives: the same
row ids (orjson bytes), cursors (isoformat) and conversion times."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pyarrow as pa
import pytest

from xconduit.sync.columns import pylist
from xconduit.sync.rows import event_time

MOMENTS = [
    datetime(2026, 3, 1, 10, 15, 30, 250123, tzinfo=UTC),
    None,
    datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),  # before the epoch: a negative count
    datetime(2006, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
]


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
@pytest.mark.parametrize("tz", ["UTC", "Etc/UTC", "+00:00", None])
def test_a_timestamp_column_reads_as_arrow_reads_it(unit: str, tz: str | None) -> None:
    values = [m if m is None or tz else m.replace(tzinfo=None) for m in MOMENTS]
    column = pa.chunked_array(
        [pa.array(values[:2], pa.timestamp("us", tz)), pa.array(values[2:], pa.timestamp("us", tz))]
    ).cast(pa.timestamp(unit, tz), safe=False)
    ours, arrows = pylist(column), column.to_pylist()
    assert ours == arrows
    assert [orjson.dumps(v) for v in ours] == [orjson.dumps(v) for v in arrows]  # row ids
    assert [v and v.isoformat() for v in ours] == [v and v.isoformat() for v in arrows]  # cursor
    assert [v and event_time(v) for v in ours] == [v and event_time(v) for v in arrows]


def test_other_zones_and_types_are_left_to_arrow() -> None:
    zoned = pa.array([MOMENTS[0]], pa.timestamp("us", "Europe/Paris"))
    assert pylist(zoned)[0].isoformat() == "2026-03-01T11:15:30.250123+01:00"
    assert pylist(pa.array(["a", None])) == ["a", None]
