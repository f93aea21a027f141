"""Plain rows mapped from the template (`sync.fast`) give byte-identical jobs to the mapping core,
and every other row still goes through the core: the same rejections (the rejected-rows report)
and skips, on a table of tricky inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from tests.support.sync_setup import COLUMNS, DESTINATION
from xconduit.config import Settings
from xconduit.sync.mapper import MappedBatch, RowMapper

RECEIVED = "2026-11-28T12:00:00.000Z"
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
T = datetime(2026, 3, 1, 10, 15, 30, 250123, tzinfo=UTC)
EMAILS = [
    "buyer1@example.com",
    "Jane.Doe@Example.COM",  # upper case: lower-cased, then hashed
    "  jane@example.com ",  # whitespace: the core trims
    "jöhn@exämple.com",  # unicode
    "not-an-email",
    "a@b",  # no dot: no address for the core
    ".jane@example.com",  # RFC 5321 refuses these: the fast checks must too
    "ja..ne@example.com",
    "jane@-example.com",
    "bad@@victim.example",
    "jane@example.com\x00",
    "",
    None,
    "x" * 70 + "@example.com",
    "A" * 64,  # 64 characters without @: the core reads pre-hashed hex only
    "ABCDEF0123456789" * 4,  # pre-hashed hex in the email column
]
IDS = [
    "order-1",
    "ORDER_2",
    "12345678",  # digits only: an order number, not a phone
    "+1 415 555 0100",  # a phone number: the core hashes it
    "jane@example.com",  # an email: hashed
    "ord-415-555-0142",  # letters, digits and dashes, with a phone inside: hashed by the core
    "order-2024-11-30-000123",  # a date and a sequence: kept, on the template path
    "",
    None,
    " spaced ",
    "100%",
    'quote"d',
    "ünïcode",
]
FLOATS = [
    19.99,
    0.0,
    -0.0,
    -1.0,
    1e20,
    1e-05,
    12.345,
    12.5,
    0.1 + 0.2,
    float("nan"),
    float("inf"),
    999999999999999.9,
    None,
    1000.0,
]
TIMES = [
    T,
    datetime(2005, 12, 31, 23, 59, 59, tzinfo=UTC),  # before 2006: X refuses it
    datetime(2006, 1, 1, tzinfo=UTC),
    NOW + timedelta(minutes=10),  # the latest X takes
    NOW + timedelta(minutes=10, milliseconds=1),  # past it
    NOW + timedelta(days=400),
    None,
]


def _rows(n: int) -> dict[str, list[Any]]:
    """n rows that run through every combination's neighbours, plain rows among them."""
    return {
        "order_id": [IDS[i % len(IDS)] for i in range(n)],
        "email": [EMAILS[i % len(EMAILS)] for i in range(n)],
        "total": [FLOATS[i % len(FLOATS)] for i in range(n)],
        "ts": [TIMES[i % len(TIMES)] for i in range(n)],
        "phone": [["+44 20 7946 0958", "415 555 0100", "12", None][i % 4] for i in range(n)],
    }


def _plain(n: int) -> dict[str, list[Any]]:
    return {
        "order_id": [f"order-{i}" for i in range(n)],
        "email": [f"Buyer{i}@Example.com" for i in range(n)],
        "total": [i / 4 for i in range(n)],
        "ts": [T + timedelta(seconds=i) for i in range(n)],
        "phone": ["+1 415 555 0100"] * n,
    }


def settings(*, dest: dict[str, Any] | None = None, **sync: Any) -> Settings:
    base = {"name": "orders", "destination": "shop", "event": "Order Completed", "columns": COLUMNS}
    return Settings.model_validate(
        {
            "conversions": [{**DESTINATION, **(dest or {})}],
            "syncs": [{**base, "source": "orders.parquet", **sync}],
        }
    )


def _map(batch: pa.RecordBatch, *, fast: bool, **sync: Any) -> MappedBatch:
    config = settings(**sync)
    mapper = RowMapper(config, config.syncs[0], received_at=RECEIVED, fast=fast)
    return mapper.map(batch, first_row=1, generation=0)


def _both(batch: pa.RecordBatch, **sync: Any) -> MappedBatch:
    fast, core = _map(batch, fast=True, **sync), _map(batch, fast=False, **sync)
    assert fast.events == core.events  # message ids, conversion ids, payload bytes
    assert repr(fast.rejections) == repr(core.rejections)  # the report (repr: NaN != NaN)
    assert fast.skipped == core.skipped
    assert core.fast == 0
    return fast


def _batch(columns: dict[str, list[Any]], **types: pa.DataType) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {name: pa.array(values, types.get(name, pa.string())) for name, values in columns.items()}
    )


TYPES = {"total": pa.float64(), "ts": pa.timestamp("us", "UTC")}


def test_tricky_rows_map_as_the_core_maps_them() -> None:
    rows = _rows(7 * 11 * 14)  # every email, id, amount and time meet
    fast = _both(_batch(rows, **TYPES))
    assert fast.rejections  # the table does reach the core's rules
    assert fast.fast > 0


def test_plain_rows_take_the_template() -> None:
    fast = _both(_batch(_plain(50), **TYPES))
    assert fast.fast == 49  # the first plain row of a batch checks the template against the core
    assert len(fast.events) == 50


@pytest.mark.parametrize(
    "types",
    [
        {"total": pa.int64(), "ts": pa.timestamp("ms")},  # whole amounts, naive time (UTC)
        {"total": pa.decimal128(12, 2), "ts": pa.timestamp("s", "Etc/UTC")},
        {"total": pa.float32(), "ts": pa.timestamp("us", "Europe/Paris")},  # a zoned time
        {"total": pa.string(), "ts": pa.string()},  # "1,000", ISO text with and without zone
    ],
)
def test_other_column_types_map_as_the_core_maps_them(types: dict[str, pa.DataType]) -> None:
    rows = _plain(40)
    if types["total"] == pa.int64():
        rows["total"] = [i * 3 - 5 for i in range(40)]  # negative ones too
        rows["ts"] = [t.replace(tzinfo=None) for t in rows["ts"]]
    elif types["total"] == pa.string():
        amounts = ["1,000", "12.5", "", None, " 7 ", "1e3", "-2", "NaN"]
        rows["total"] = [amounts[i % len(amounts)] for i in range(40)]
        times = ["2026-03-01T10:15:30+02:00", "2026-03-01 10:15:30", "2026-03-01", "soon", ""]
        rows["ts"] = [times[i % len(times)] for i in range(40)]
    elif types["total"] == pa.decimal128(12, 2):
        rows["total"] = [Decimal(i * 7) / 4 for i in range(40)]
    elif types["ts"] == pa.timestamp("us", "Europe/Paris"):
        rows["ts"] = [t.astimezone(ZoneInfo("Europe/Paris")) for t in rows["ts"]]
    batch = _batch(rows, **types)
    _both(batch)


@pytest.mark.parametrize("region", [None, "GB"])
def test_phone_columns_map_as_the_core_maps_them(region: str | None) -> None:
    columns = {"email": "email", "phone": "phone", "value": "total", "conversion_time": "ts"}
    config = settings(columns=columns, dest={"phone_region": region} if region else None)
    batch = _batch(_rows(200), **TYPES)
    fast = RowMapper(config, config.syncs[0], received_at=RECEIVED).map(
        batch, first_row=1, generation=0
    )
    core = RowMapper(config, config.syncs[0], received_at=RECEIVED, fast=False).map(
        batch, first_row=1, generation=0
    )
    assert fast.events == core.events
    assert repr(fast.rejections) == repr(core.rejections)


def test_without_a_conversion_id_column_the_row_id_is_used() -> None:
    columns = {"email": "email", "conversion_time": "ts"}
    fast = _both(_batch(_plain(20), **TYPES), columns=columns)
    assert fast.fast == 19
    assert fast.events[5].jobs[0].conversion_id.startswith("orders-")


def test_suppression_lists_leave_every_row_to_the_core() -> None:
    config = Settings.model_validate(
        {**settings().model_dump(exclude_unset=True), "suppression": {"user_ids": ["someone"]}}
    )
    mapper = RowMapper(config, config.syncs[0], received_at=RECEIVED)
    assert mapper.map(_batch(_plain(10), **TYPES), first_row=1, generation=0).fast == 0
