"""One bad row never stops later rows, and a run that reads or sends nothing says why: cursor
values in the future or of the wrong kind, a NULL `:cursor` on the first run, `cursor_start`,
and rows repeated inside one run. Real files, SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.sync_setup import pending, report_lines, settings
from xconduit.outbox.sqlite import SqliteStore
from xconduit.sync import SyncResult, run_sync

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
HEADER = "order_id,email,total,ts\n"


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "outbox.db")


def _line(n: int, ts: str) -> str:
    return f"o-{n},u{n}@example.com,10.00,{ts}\n"


def _run(config: Any, store: SqliteStore, tmp_path: Path, **options: Any) -> SyncResult:
    return run_sync(
        config, "orders", store, reports=tmp_path / "reports", base_dir=tmp_path, **options
    )


@pytest.mark.parametrize(
    ("bad", "rule"),
    [
        ("2099-01-01 00:00:00", "more than 10 minutes in the future"),
        ("soon", "not a date-time"),
        ("jane.doe@example.com", "not a date-time"),  # personal: masked in the report
    ],
)
def test_a_csv_row_with_a_bad_cursor_value_does_not_hide_later_rows(
    tmp_path: Path, store: SqliteStore, bad: str, rule: str
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        HEADER + _line(1, "2026-03-01 09:00:00") + _line(2, bad) + _line(3, "2026-03-01 09:02:00")
    )
    config = settings(source="orders.csv", cursor="ts")
    first = _run(config, store, tmp_path)
    assert (first.rows, first.enqueued, first.rejected) == (3, 2, 1)
    assert first.cursor_refused == 1
    assert any("cursor stays before them" in note for note in first.notes)
    [line] = report_lines(tmp_path / "reports")
    assert (line["row"], line["conversion_id"], line["column"]) == ("3", "o-2", "ts")
    assert rule in line["rule"]
    assert "jane.doe" not in (first.report.read_text() if first.report else "")

    with orders.open("a") as handle:
        handle.write(_line(4, "2026-03-01 09:03:00"))
    second = _run(config, store, tmp_path)
    # The new row is sent; the bad one is read (and reported) again, never skipped for good.
    assert (second.rows, second.enqueued, second.rejected) == (2, 1, 1)
    assert [c["conversion_id"] for c in pending(store)] == ["o-1", "o-3", "o-4"]


def test_a_sqlite_row_dated_in_the_future_is_sent_once_its_time_has_come(
    tmp_path: Path, store: SqliteStore
) -> None:
    # The cursor is not the conversion time: the row itself is fine but for its cursor value.
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table orders (id text, email text, ts text, updated_at text)")
        conn.executemany(
            "insert into orders values (?, ?, ?, ?)",
            [
                ("o-1", "a@example.com", "2026-03-01T09:00:00Z", "2026-03-01T09:00:00"),
                ("o-2", "b@example.com", "2026-03-01T09:01:00Z", "2099-01-01T00:00:00"),
                ("o-3", "c@example.com", "2026-03-01T09:02:00Z", "2026-03-01T09:02:00"),
            ],
        )
    query = "select * from orders where :cursor is null or updated_at > :cursor order by updated_at"
    columns = {"conversion_id": "id", "email": "email", "conversion_time": "ts"}
    config = settings(source="sqlite:///shop.db", query=query, cursor="updated_at", columns=columns)
    first = _run(config, store, tmp_path)
    assert (first.enqueued, first.cursor_refused) == (2, 1)
    assert first.cursor_after is not None
    assert "2099" not in first.cursor_after
    with sqlite3.connect(db) as conn:  # the row's cursor value is corrected in the warehouse
        conn.execute("update orders set updated_at = '2026-03-01T09:05:00' where id = 'o-2'")
    second = _run(config, store, tmp_path)
    assert (second.rows, second.enqueued, second.rejected) == (1, 1, 0)
    assert [c["conversion_id"] for c in pending(store)] == ["o-1", "o-3", "o-2"]


@pytest.mark.postgres
def test_a_postgresql_timestamptz_cursor_in_the_future_does_not_move_the_cursor(
    tmp_path: Path, store: SqliteStore, pg: tuple[str, psycopg.Connection]
) -> None:
    url, admin = pg
    admin.execute("create table orders (id int primary key, email text, updated_at timestamptz)")
    rows = [(1, T0), (2, datetime(2099, 1, 1, tzinfo=UTC)), (3, T0 + timedelta(minutes=2))]
    for i, at in rows:
        admin.execute("insert into orders values (%s, %s, %s)", (i, f"u{i}@example.com", at))
    query = "select * from orders where :cursor is null or updated_at > :cursor order by updated_at"
    columns = {"conversion_id": "id", "email": "email", "conversion_time": "updated_at"}
    config = settings(source=url, query=query, cursor="updated_at", columns=columns)
    first = _run(config, store, tmp_path)
    assert (first.rows, first.enqueued, first.rejected, first.cursor_refused) == (3, 2, 1, 1)
    admin.execute("insert into orders values (4, 'u4@example.com', %s)", (T0 + timedelta(hours=1),))
    second = _run(config, store, tmp_path)
    assert (second.rows, second.enqueued, second.cursor_refused) == (2, 1, 1)
    assert [c["conversion_id"] for c in pending(store)] == ["1", "3", "4"]


def _sqlite_shop(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("create table orders (id text, email text, updated_at text)")
        conn.executemany(
            "insert into orders values (?, ?, ?)",
            [(f"o-{i}", f"u{i}@example.com", f"2026-03-01 09:0{i}:00") for i in range(1, 4)],
        )


SIMPLE = "select * from orders where updated_at > :cursor order by updated_at"
SIMPLE_COLUMNS = {"conversion_id": "id", "email": "email", "conversion_time": "updated_at"}


def test_a_first_run_whose_query_compares_with_a_null_cursor_says_why_it_read_nothing(
    tmp_path: Path, store: SqliteStore
) -> None:
    _sqlite_shop(tmp_path / "shop.db")
    config = settings(
        source="sqlite:///shop.db", query=SIMPLE, cursor="updated_at", columns=SIMPLE_COLUMNS
    )
    result = _run(config, store, tmp_path)
    assert result.rows == 0
    [note] = [note for note in result.notes if "read 0 rows" in note]
    assert ":cursor is NULL on the first run" in note
    assert "where :cursor is null or updated_at > :cursor" in note
    assert "cursor_start" in note


def test_cursor_start_is_bound_on_the_first_run_and_after_full(
    tmp_path: Path, store: SqliteStore
) -> None:
    _sqlite_shop(tmp_path / "shop.db")
    config = settings(
        source="sqlite:///shop.db",
        query=SIMPLE,
        cursor="updated_at",
        cursor_start="2026-03-01 09:01:30",
        columns=SIMPLE_COLUMNS,
    )
    first = _run(config, store, tmp_path)
    assert (first.rows, first.enqueued) == (2, 2)
    assert [c["conversion_id"] for c in pending(store)] == ["o-2", "o-3"]
    again = _run(config, store, tmp_path)
    assert again.rows == 0
    assert any("none is past the cursor 2026-03-01 09:03:00" in note for note in again.notes)
    full = _run(config, store, tmp_path, full=True)
    assert (full.rows, full.enqueued) == (2, 2)


@pytest.mark.postgres
def test_cursor_start_text_against_a_postgresql_timestamptz_column(
    tmp_path: Path, store: SqliteStore, pg: tuple[str, psycopg.Connection]
) -> None:
    url, admin = pg
    admin.execute("create table orders (id int primary key, email text, updated_at timestamptz)")
    for i in range(1, 4):
        admin.execute(
            "insert into orders values (%s, %s, %s)",
            (i, f"u{i}@example.com", T0 + timedelta(days=i)),
        )
    config = settings(
        source=url,
        query=SIMPLE,
        cursor="updated_at",
        cursor_start="2026-03-02T12:00:00Z",
        columns=SIMPLE_COLUMNS,
    )
    result = _run(config, store, tmp_path)
    assert (result.rows, result.enqueued) == (2, 2)


def test_a_row_repeated_in_one_file_is_not_taken_for_one_sent_by_an_earlier_run(
    tmp_path: Path, store: SqliteStore
) -> None:
    line = _line(1, "2026-03-01 09:00:00")
    (tmp_path / "orders.csv").write_text(HEADER + line + _line(2, "2026-03-01 09:01:00") + line)
    config = settings(source="orders.csv", batch_rows=2)
    first = _run(config, store, tmp_path)
    assert (first.rows, first.enqueued, first.already_sent, first.repeated) == (3, 2, 0, 1)
    second = _run(config, store, tmp_path)
    assert (second.enqueued, second.already_sent, second.repeated) == (0, 2, 1)


BAD_LINES = {
    "a 10 MB cell": (b"o-2," + b"x" * 10_000_000 + b",1,2026-03-01 09:01:00\n", "longer than"),
    "a byte that is not UTF-8": (b"o-2,j\xe9@example.com,1,2026-03-01 09:01:00\n", "UTF-8"),
    "an unclosed quote": (b'o-2,"jane@example.com,1,2026-03-01 09:01:00\n', "quote"),
    "a NUL byte": (b"o-2,jane\x00@example.com,1,2026-03-01 09:01:00\n", "NUL"),
    "too few columns": (b"o-2,jane@example.com,1\n", "columns"),
}


@pytest.mark.parametrize("case", list(BAD_LINES))
def test_a_bad_csv_line_is_rejected_with_its_line_number_and_the_rest_syncs(
    tmp_path: Path, store: SqliteStore, case: str
) -> None:
    bad, rule = BAD_LINES[case]
    lines = [_line(n, f"2026-03-01 09:0{n}:00").encode() for n in (1, 3, 4)]
    (tmp_path / "orders.csv").write_bytes(HEADER.encode() + lines[0] + bad + b"".join(lines[1:]))
    result = _run(settings(source="orders.csv", cursor="ts"), store, tmp_path)
    assert result.error is None
    assert (result.rows, result.enqueued, result.rejected, result.unreadable) == (3, 3, 1, 1)
    assert [c["conversion_id"] for c in pending(store)] == ["o-1", "o-3", "o-4"]
    [line] = report_lines(tmp_path / "reports")
    assert (line["row"], line["line"]) == ("", "orders.csv:3")
    assert rule in line["rule"]
    assert "jane" not in (result.report.read_text() if result.report else "")
    assert any("the other rows were read" in note for note in result.notes)


def test_a_bad_cell_past_duckdbs_sample_costs_its_row_only(
    tmp_path: Path, store: SqliteStore
) -> None:
    # DuckDB types the column from its first 20,480 lines; a later cell it cannot convert used
    # to stop the run part way.
    good = "".join(_line(n, "2026-03-01 09:00:00") for n in range(25_000))
    bad = "o-x,x@example.com,lots,2026-03-01 09:00:00\n"
    (tmp_path / "orders.csv").write_text(HEADER + good + bad + _line(25_001, "2026-03-01 09:01:00"))
    result = _run(settings(source="orders.csv", batch_rows=10_000), store, tmp_path)
    assert result.error is None
    assert (result.rows, result.enqueued, result.rejected) == (25_001, 25_001, 1)
    [line] = report_lines(tmp_path / "reports")
    assert (line["line"], line["column"]) == ("orders.csv:25002", "total")


def test_a_malformed_json_line_is_rejected_with_its_line_number_and_the_rest_syncs(
    tmp_path: Path, store: SqliteStore
) -> None:
    lines = [
        b'{"order_id": "o-1", "email": "a@example.com", "total": 1, "ts": "2026-03-01T09:00:00Z"}',
        b'{"order_id": "o-2", "email": "jane@example.com", "total": 1, "ts": "2026-03-01T09:01',
        b'{"order_id": "o-3", "email": "c@example.com", "total": 2.5, "ts": "2026-03-01T09:02:00Z"}',
    ]
    (tmp_path / "orders.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    result = _run(settings(source="orders.jsonl", cursor="ts"), store, tmp_path)
    assert result.error is None
    assert (result.rows, result.enqueued, result.unreadable) == (2, 2, 1)
    assert [(c["conversion_id"], c["value"]) for c in pending(store)] == [
        ("o-1", "1.00"),
        ("o-3", "2.50"),
    ]
    [line] = report_lines(tmp_path / "reports")
    assert (line["line"], line["rule"]) == ("orders.jsonl:2", "the line is not JSON")
