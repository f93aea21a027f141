"""Sync runs against real files and real SQLite / PostgreSQL tables: every column kind, the
data-contract report, pre-hashed columns, incremental runs, and a source that fails mid-run."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from tests.support.sync_setup import COLUMNS, pending, report_lines, settings, sha
from xconduit.cli.sync import summary
from xconduit.outbox.sqlite import SqliteStore
from xconduit.sync import SyncResult, run_sync

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SECRET = "secret.buyer@example.com"


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "outbox.db")


def test_a_parquet_export_with_every_column_kind(tmp_path: Path, store: SqliteStore) -> None:
    contents = orjson.dumps(
        [{"content_id": "sku-1", "content_price": 12.5, "num_items": 2}]
    ).decode()
    pq.write_table(
        pa.table(
            {
                "order_id": ["o-1", "o-2"],
                "email": [" Jane@Example.com ", None],
                "phone": ["(555) 010-0199", None],
                "click": ["twclid-1", None],
                "ip": ["203.0.113.9", "198.51.100.7"],
                "ua": ["Mozilla/5.0", "curl/8"],
                "total": [Decimal("25.00"), None],
                "cur": ["eur", None],
                "ts": [T0, T0 + timedelta(minutes=1)],
                "items": [3, None],
                "note": ["first order", None],
                "basket": [contents, None],
                "kind": ["Order Completed", "signed up"],
            }
        ),
        tmp_path / "orders.parquet",
    )
    columns = {
        "conversion_id": "order_id",
        "email": "email",
        "phone": "phone",
        "twclid": "click",
        "ip_address": "ip",
        "user_agent": "ua",
        "value": "total",
        "currency": "cur",
        "conversion_time": "ts",
        "number_items": "items",
        "description": "note",
        "contents": "basket",
    }
    config = settings(source="orders.parquet", event="", event_column="kind", columns=columns)
    result = run_sync(config, "orders", store, reports=tmp_path / "reports", base_dir=tmp_path)
    assert (result.rows, result.enqueued, result.rejected) == (2, 2, 0)
    first, second = pending(store)
    assert first == {
        "conversion_time": "2026-03-01T09:00:00.000Z",
        "event_id": "tw-oka17-ol288",
        "identifiers": [
            {"twclid": "twclid-1"},
            {"hashed_email": sha("jane@example.com")},
            {"hashed_phone_number": sha("+15550100199")},
            {"ip_address": "203.0.113.9", "user_agent": "Mozilla/5.0"},
        ],
        "conversion_id": "o-1",
        "value": "25.00",
        "price_currency": "EUR",
        "number_items": 3,  # the column is explicit: it wins over the basket's quantities
        "contents": [{"content_id": "sku-1", "content_price": 12.5, "num_items": 2}],
        "description": "first order",
    }
    assert second["event_id"] == "tw-oka17-ol289"  # event names match case-insensitively
    assert second["identifiers"] == [{"ip_address": "198.51.100.7", "user_agent": "curl/8"}]


def test_rows_x_would_refuse_are_reported_masked_and_the_rest_is_sent(
    tmp_path: Path, store: SqliteStore
) -> None:
    (tmp_path / "orders.csv").write_text(
        "order_id,email,total,ts,kind\n"
        "o-1,a@example.com,10.00,2026-03-01 09:00:00,Order Completed\n"
        f"o-2,{SECRET.replace('@', '')},10.00,2026-03-01 09:01:00,Order Completed\n"
        "o-3,b@example.com,lots,2026-03-01 09:02:00,Order Completed\n"
        "o-4,c@example.com,10.00,last tuesday,Order Completed\n"
        "o-5,d@example.com,10.00,2026-03-01 09:04:00,Refund\n"
        "o-6,e@example.com,5,2026-03-01T09:05:00+01:00,Order Completed\n"
    )
    config = settings(
        source="orders.csv",
        event="",
        event_column="kind",
        query="select *, ts::varchar as t from source",
        columns={**COLUMNS, "conversion_time": "t"},
    )
    result = run_sync(config, "orders", store, reports=tmp_path / "reports", base_dir=tmp_path)
    assert (result.rows, result.enqueued, result.rejected) == (6, 2, 4)
    assert [c["conversion_id"] for c in pending(store)] == ["o-1", "o-6"]
    lines = report_lines(tmp_path / "reports")
    assert [(x["row"], x["conversion_id"], x["column"]) for x in lines] == [
        ("2", "o-2", "email"),
        ("3", "o-3", "total"),
        ("4", "o-4", "t"),
        ("5", "o-5", "kind"),
    ]
    assert lines[0]["rule"] == (
        "email: not an email address (At least one user identifier must be provided)"
    )
    assert lines[1]["rule"] == "properties.value: not a number"
    assert lines[1]["value"] == "lots"
    assert lines[2]["rule"] == "not an ISO 8601 date-time"
    assert lines[3]["rule"] == "not one of the destination's events"
    text = result.report.read_text() if result.report else ""
    assert "secret" not in text


def test_values_are_sent_exact_or_named_in_the_report_and_summary(
    tmp_path: Path, store: SqliteStore
) -> None:
    contents = '[{""content_id"": ""p1"", ""num_items"": 1}]'
    (tmp_path / "orders.csv").write_text(
        "order_id,email,phone,total,items,contents,ts\n"
        # The seed's example: an explicit count of 3 beside a content of 1 item is sent as 3.
        f'o-1,a@example.com,,10.00,3,"{contents}",2026-03-01 09:00:00\n'
        f'o-2,b@example.com,,0.001,0,"{contents}",2026-03-01 09:01:00\n'
        f"o-3,c@example.com,call me,12.345,2.5,,2026-03-01 09:02:00\n"
        f"o-4,{SECRET.replace('@', '@@')},,10,1,,2026-03-01 09:03:00\n"
    )
    columns = {**COLUMNS, "phone": "phone", "number_items": "items", "contents": "contents"}
    config = settings(
        source="orders.csv",
        query="select *, ts::varchar as t, total::varchar as amount from source",
        columns={**columns, "conversion_time": "t", "value": "amount"},
    )
    result = run_sync(config, "orders", store, reports=tmp_path / "reports", base_dir=tmp_path)
    assert (result.rows, result.enqueued, result.rejected, result.dropped) == (4, 3, 1, 3)
    sent = pending(store)
    assert [c["conversion_id"] for c in sent] == ["o-1", "o-2", "o-3"]
    assert [c.get("number_items") for c in sent] == [3, None, None]
    assert [c["value"] for c in sent] == ["10.00", "0.001", "12.345"]
    lines = report_lines(tmp_path / "reports")
    assert [(x["row"], x["column"], x["rule"], x["value"]) for x in lines] == [
        (
            "2",
            "items",
            "sent without this field: properties.quantity: not a whole number above zero",
            "0.0",  # as the source read it (a DOUBLE column)
        ),
        (
            "3",
            "phone",
            "sent without this field: phone: not a possible phone number",
            "c***",
        ),
        (
            "3",
            "items",
            "sent without this field: properties.quantity: not a whole number above zero",
            "2.5",
        ),
        (
            "4",
            "email",
            "email: not an email address (At least one user identifier must be provided)",
            "s***@@***",
        ),
    ]
    text = result.report.read_text() if result.report else ""
    assert "secret" not in text
    assert "call me" not in text
    console = Console(width=200, record=True)
    console.print(summary(result, config, backlog=0))
    shown = console.export_text()
    assert re.search(r"fields dropped\s+│\s+3 \(rows sent without them\) — ", shown), shown


def test_the_report_holds_no_raw_email_or_phone_in_any_column(
    tmp_path: Path, store: SqliteStore
) -> None:
    # An order id that is the buyer's email, and personal data in the money and event columns:
    # the report names the column and rule; the id is the SHA-256 X receives, values redacted.
    (tmp_path / "orders.csv").write_text(
        "order_id,email,total,currency,ts,kind\n"
        f"{SECRET},a@example.com,{SECRET},USD,2026-03-01 09:00:00,Order Completed\n"
        "+1 (415) 555-4242,b@example.com,+1 (415) 555-4242,USD,2026-03-01 09:01:00,"
        "Order Completed\n"
        f"o-3,c@example.com,10,{SECRET},2026-03-01 09:02:00,Order Completed\n"
        f"o-4,d@example.com,10,USD,2026-03-01 09:03:00,Call +1 415 555 4242 or {SECRET}\n"
        f"o-5,e@example.com,10,USD,{SECRET},Order Completed\n"
    )
    config = settings(
        source="orders.csv",
        event="",
        event_column="kind",
        query="select *, ts::varchar as t from source",
        columns={**COLUMNS, "currency": "currency", "conversion_time": "t"},
    )
    result = run_sync(config, "orders", store, reports=tmp_path / "reports", base_dir=tmp_path)
    assert (result.rows, result.rejected) == (5, 5)
    lines = report_lines(tmp_path / "reports")
    assert [x["column"] for x in lines] == ["total", "total", "currency", "kind", "t"]
    assert [x["conversion_id"] for x in lines[:2]] == [sha(SECRET), sha("+1 (415) 555-4242")]
    assert [x["value"] for x in lines[:4]] == [
        "[email]",
        "[phone]",
        "[email]",
        "Call [phone] or [email]",
    ]
    text = result.report.read_text() if result.report else ""
    for raw in ("secret", "555-4242", "555 4242"):
        assert raw not in text


def test_pre_hashed_columns(tmp_path: Path, store: SqliteStore) -> None:
    good = sha("jane@example.com")
    lines = [
        {
            "order_id": "o-1",
            "email": good.upper(),
            "phone": sha("+15550100199"),
            "total": 1,
            "ts": "2026-03-01T09:00:00Z",
        },
        {
            "order_id": "o-2",
            "email": SECRET,
            "phone": None,
            "total": 1,
            "ts": "2026-03-01T09:00:00Z",
        },
        {
            "order_id": "o-3",
            "email": good[:63],
            "phone": None,
            "total": 1,
            "ts": "2026-03-01T09:00:00Z",
        },
    ]
    (tmp_path / "o.jsonl").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    columns = {
        "conversion_id": "order_id",
        "email": "email",
        "phone": "phone",
        "value": "total",
        "conversion_time": "ts",
    }
    result = run_sync(
        settings(source="o.jsonl", hashing=False, columns=columns),
        "orders",
        store,
        reports=tmp_path / "r",
        base_dir=tmp_path,
    )
    assert (result.enqueued, result.rejected) == (1, 2)
    [sent] = pending(store)
    assert sent["identifiers"] == [
        {"hashed_email": good},
        {"hashed_phone_number": sha("+15550100199")},
    ]
    report = report_lines(tmp_path / "r")
    assert [(x["conversion_id"], x["column"]) for x in report] == [
        ("o-2", "email"),
        ("o-3", "email"),
    ]
    assert all("64 hex" in x["rule"] for x in report)
    assert SECRET not in (tmp_path / "r").joinpath(result.report.name).read_text()  # type: ignore[union-attr]


def _sqlite_orders(path: Path, rows: list[tuple[str, str, str, str]]) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "create table if not exists orders (id text primary key, email text, total text, updated_at text)"
        )
        conn.executemany("insert or replace into orders values (?, ?, ?, ?)", rows)


def test_sqlite_incremental_runs_send_only_new_and_updated_rows(
    tmp_path: Path, store: SqliteStore
) -> None:
    db = tmp_path / "shop.db"
    _sqlite_orders(
        db,
        [(f"o-{i}", f"u{i}@example.com", "10.00", f"2026-03-01 09:0{i}:00") for i in range(1, 6)],
    )
    query = "select * from orders where :cursor is null or updated_at > :cursor order by updated_at"
    columns = {
        "conversion_id": "id",
        "email": "email",
        "value": "total",
        "conversion_time": "updated_at",
    }
    config = settings(
        source="sqlite:///shop.db", query=query, cursor="updated_at", columns=columns, batch_rows=2
    )

    def run(full: bool = False) -> SyncResult:
        return run_sync(
            config, "orders", store, reports=tmp_path / "r", base_dir=tmp_path, full=full
        )

    assert run().enqueued == 5
    assert run().rows == 0  # nothing new
    _sqlite_orders(
        db,
        [
            ("o-6", "u6@example.com", "10.00", "2026-03-01 09:06:00"),
            ("o-2", "u2@example.com", "12.00", "2026-03-01 09:07:00"),
        ],
    )
    result = run()
    assert (result.rows, result.enqueued) == (2, 2)
    assert [(c["conversion_id"], c["value"]) for c in pending(store)][-2:] == [
        ("o-6", "10.00"),
        ("o-2", "12.00"),
    ]
    assert run(full=True).enqueued == 6  # --full: everything again (X drops ids it counted)


@pytest.mark.postgres
def test_now_is_the_runs_start_so_a_query_can_leave_out_what_x_no_longer_attributes(
    tmp_path: Path, store: SqliteStore, pg: tuple[str, psycopg.Connection]
) -> None:
    url, admin = pg
    admin.execute("create table orders (id int, email text, total numeric(10,2), ts timestamptz)")
    start = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
    for i, age in enumerate((timedelta(days=91), timedelta(days=89), timedelta(hours=1))):
        admin.execute(
            "insert into orders values (%s, %s, 1, %s)", (i, f"u{i}@example.com", start - age)
        )
    query = "select id::text as order_id, * from orders where ts > :now - interval '90 days'"
    config = settings(source=url, query=query)
    result = run_sync(
        config, "orders", store, reports=tmp_path / "r", clock=lambda: start.timestamp()
    )
    assert (result.rows, result.enqueued) == (2, 2)
    assert [c["conversion_id"] for c in pending(store)] == ["1", "2"]


@pytest.mark.postgres
def test_postgresql_incremental_with_a_timestamptz_cursor(
    tmp_path: Path, store: SqliteStore, pg: tuple[str, psycopg.Connection]
) -> None:
    url, admin = pg
    admin.execute(
        "create table orders (id int primary key, email text, total numeric(10,2), updated_at timestamptz)"
    )

    def put(*ids: int, minute: int) -> None:
        for i in ids:
            admin.execute(
                "insert into orders values (%s, %s, %s, %s) on conflict (id) do update set total = excluded.total, updated_at = excluded.updated_at",
                (
                    i,
                    f"u{i}@example.com",
                    Decimal(f"{i}.{minute:02d}"),
                    T0 + timedelta(minutes=minute),
                ),
            )

    put(1, 2, 3, minute=1)
    put(4, minute=2)
    query = "select * from orders where :cursor is null or updated_at > :cursor order by updated_at"
    columns = {
        "conversion_id": "id",
        "email": "email",
        "value": "total",
        "conversion_time": "updated_at",
    }
    config = settings(source=url, query=query, cursor="updated_at", columns=columns, batch_rows=2)
    first = run_sync(config, "orders", store, reports=tmp_path / "r")
    assert (first.rows, first.enqueued) == (4, 4)
    put(2, minute=5)  # updated
    put(5, minute=6)  # new
    second = run_sync(config, "orders", store, reports=tmp_path / "r")
    assert (second.rows, second.enqueued) == (2, 2)
    assert [(c["conversion_id"], c["value"]) for c in pending(store)][-2:] == [
        ("2", "2.05"),
        ("5", "5.06"),
    ]


@pytest.mark.postgres
def test_a_source_that_disappears_mid_run_keeps_what_was_committed(
    tmp_path: Path, store: SqliteStore, pg: tuple[str, psycopg.Connection]
) -> None:
    url, admin = pg
    admin.execute("create table orders (id int primary key, email text, updated_at timestamptz)")
    for i in range(1, 11):
        admin.execute(
            "insert into orders values (%s, %s, %s)",
            (i, f"u{i}@example.com", T0 + timedelta(minutes=i)),
        )
    query = "select * from orders where :cursor is null or updated_at > :cursor order by updated_at"
    app_name = f"h9_sync_{id(admin)}"  # names this test's reading session, and no other
    url = f"{url}&application_name={app_name}"
    columns = {"conversion_id": "id", "email": "email", "conversion_time": "updated_at"}
    config = settings(source=url, query=query, cursor="updated_at", columns=columns, batch_rows=3)

    def kill_after_first_batch(result: object) -> None:
        admin.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where application_name = %s",
            (app_name,),
        )

    broken = run_sync(
        config, "orders", store, reports=tmp_path / "r", on_progress=kill_after_first_batch
    )
    assert broken.error is not None
    assert "the source failed after 3 rows" in broken.error
    assert "\n" not in broken.error
    assert broken.enqueued == 3
    resumed = run_sync(config, "orders", store, reports=tmp_path / "r")
    assert resumed.error is None
    ids = [c["conversion_id"] for c in pending(store)]
    assert sorted(ids, key=int) == [str(i) for i in range(1, 11)]  # each row exactly once


def test_rows_mapped_in_worker_processes_are_committed_in_read_order(
    tmp_path: Path, store: SqliteStore
) -> None:
    count = 2_000
    pq.write_table(
        pa.table(
            {
                "order_id": [f"o-{i}" for i in range(count)],
                "email": [f"u{i}@example.com" if i % 100 else "nobody" for i in range(count)],
                "total": [f"{i}.00" for i in range(count)],
                "ts": [T0 + timedelta(seconds=i) for i in range(count)],
            }
        ),
        tmp_path / "o.parquet",
    )
    config = settings(source="o.parquet", cursor="ts", batch_rows=150, workers=2)
    result = run_sync(config, "orders", store, reports=tmp_path / "r", base_dir=tmp_path)
    assert (result.rows, result.enqueued, result.rejected) == (count, count - 20, 20)
    expected = [f"o-{i}" for i in range(count) if i % 100]
    assert [c["conversion_id"] for c in pending(store)] == expected
    assert [line["row"] for line in report_lines(tmp_path / "r")] == [
        str(i + 1) for i in range(0, count, 100)
    ]
    assert result.cursor_after is not None
    assert "1970" not in result.cursor_after
