"""Every source kind against real files and real databases: columns, batches, bound
parameters, and one-line errors that never quote a value from the data."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.support.net import free_port
from xconduit.sources import SourceError, open_source

SECRET = "very.secret.person@example.com"
EVIL = "x' OR '1'='1"  # bound as a value, it matches nothing; pasted into SQL, everything


def _rows(src) -> list[dict[str, object]]:
    return [row for batch in src.batches() for row in batch.to_pylist()]


def _orders(n: int) -> pa.Table:
    return pa.table(
        {
            "id": list(range(1, n + 1)),
            "email": [f"user{i}@example.com" for i in range(1, n + 1)],
            "total": [Decimal(f"{i}.50") for i in range(1, n + 1)],
        }
    )


def test_parquet_streams_in_batches_and_binds_the_cursor(tmp_path: Path) -> None:
    pq.write_table(_orders(120), tmp_path / "orders.parquet")

    with open_source("orders.parquet", base_dir=tmp_path, batch_rows=50) as src:
        assert src.columns == ["id", "email", "total"]
        sizes = [batch.num_rows for batch in src.batches()]
    assert sizes == [50, 50, 20]

    query = "select id from source where id > :cursor order by id"
    with open_source(
        str(tmp_path / "orders.parquet"), query=query, params={"cursor": 117, "unused": 1}
    ) as src:
        assert [row["id"] for row in _rows(src)] == [118, 119, 120]


def test_a_glob_of_parquet_files_is_one_table(tmp_path: Path) -> None:
    (tmp_path / "export").mkdir()
    pq.write_table(_orders(3), tmp_path / "export" / "part-1.parquet")
    pq.write_table(_orders(2), tmp_path / "export" / "part-2.parquet")
    with open_source(
        "export/part-*.parquet", base_dir=tmp_path, query="select count(*) n from source"
    ) as src:
        assert _rows(src) == [{"n": 5}]


def test_csv_json_lines_and_json_files(tmp_path: Path) -> None:
    (tmp_path / "o.csv").write_text("id,email,total\n1,a@example.com,9.99\n2,b@example.com,5\n")
    lines = [{"id": 1, "contents": [{"content_id": "sku-1", "num_items": 2}]}, {"id": 2}]
    (tmp_path / "o.jsonl").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    (tmp_path / "o.ndjson").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    (tmp_path / "o.json").write_bytes(orjson.dumps(lines))

    with open_source(
        "o.csv",
        base_dir=tmp_path,
        query="select * from source where email = :e",
        params={"e": "b@example.com"},
    ) as src:
        assert [row["id"] for row in _rows(src)] == [2]
    for name in ("o.jsonl", "o.ndjson", "o.json"):
        with open_source(name, base_dir=tmp_path) as src:
            rows = _rows(src)
        assert rows[0]["contents"] == [{"content_id": "sku-1", "num_items": 2}], name
        assert rows[1]["contents"] is None, name


def test_a_string_parameter_is_bound_not_pasted(tmp_path: Path) -> None:
    pq.write_table(_orders(3), tmp_path / "o.parquet")
    with open_source(
        "o.parquet",
        base_dir=tmp_path,
        query="select id from source where email = :e",
        params={"e": EVIL},
    ) as src:
        assert _rows(src) == []


@pytest.mark.parametrize(
    ("source", "query", "cause"),
    [
        ("missing.parquet", "", "missing.parquet: no such file"),
        ("o.parquet", "select nope from source", "nope"),
        ("o.parquet", "select id from source where id > :cursor", "no value is given for it"),
        ("o.txt", "", "neither a database URL nor"),
    ],
)
def test_file_errors_are_one_line(tmp_path: Path, source: str, query: str, cause: str) -> None:
    pq.write_table(_orders(3), tmp_path / "o.parquet")
    with pytest.raises(SourceError) as raised, open_source(source, base_dir=tmp_path, query=query):
        pass
    assert cause in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_error_caused_by_a_value_does_not_quote_it(tmp_path: Path) -> None:
    (tmp_path / "o.csv").write_text(f"id,email\n1,{SECRET}\n")
    with (
        pytest.raises(SourceError) as raised,
        open_source(
            "o.csv", base_dir=tmp_path, query="select cast(email as integer) from source"
        ) as src,
    ):
        _rows(src)
    assert SECRET not in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_csv_value_that_does_not_convert_costs_its_line_only_and_is_not_quoted(
    tmp_path: Path,
) -> None:
    (tmp_path / "o.csv").write_text(f"id,email\n1,{SECRET}\n2,42\n")
    query = "select id, cast(email as integer) as n from source"
    with open_source("o.csv", base_dir=tmp_path, query=query, bad_lines="report") as src:
        assert _rows(src) == [{"id": 2, "n": 42}]
    [problem] = src.problems
    assert (problem.file, problem.line, problem.column) == ("o.csv", 2, "email")
    assert SECRET not in repr(problem)


def _sqlite_db(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute(
        "create table orders (id integer primary key, email text, total real, updated_at text, odd)"
    )
    conn.executemany(
        "insert into orders values (?, ?, ?, ?, ?)",
        [
            (
                i,
                f"user{i}@example.com",
                i + 0.5,
                f"2026-01-01 00:00:{i:02d}",
                i if i % 2 else f"t{i}",
            )
            for i in range(1, 8)
        ],
    )
    conn.commit()
    conn.close()


def test_sqlite_reads_in_batches_with_a_bound_cursor(tmp_path: Path) -> None:
    _sqlite_db(tmp_path / "shop.db")
    query = "select id, updated_at, odd from orders where updated_at > :cursor order by updated_at"
    with open_source(
        "sqlite:///shop.db",
        base_dir=tmp_path,
        query=query,
        params={"cursor": datetime(2026, 1, 1, 0, 0, 4)},
        batch_rows=2,
    ) as src:
        assert src.columns == ["id", "updated_at", "odd"]
        batches = list(src.batches())
    assert [b.num_rows for b in batches] == [2, 1]
    assert [row["id"] for b in batches for row in b.to_pylist()] == [5, 6, 7]
    # A column holding integers and text in the same batch comes back as text.
    assert batches[0].column("odd").to_pylist() == ["5", "t6"]


def test_sqlite_does_not_write_and_reports_bad_queries(tmp_path: Path) -> None:
    _sqlite_db(tmp_path / "shop.db")
    with (
        pytest.raises(SourceError, match="readonly"),
        open_source(
            "sqlite:///shop.db", base_dir=tmp_path, query="delete from orders returning id"
        ),
    ):
        pass
    with (
        pytest.raises(SourceError, match="no such column: nope"),
        open_source("sqlite:///shop.db", base_dir=tmp_path, query="select nope from orders"),
    ):
        pass
    with (
        pytest.raises(SourceError, match="no such database file"),
        open_source("sqlite:///other.db", base_dir=tmp_path, query="select 1"),
    ):
        pass
    with (
        pytest.raises(SourceError, match="needs a query"),
        open_source("sqlite:///shop.db", base_dir=tmp_path),
    ):
        pass
    with open_source(
        f"sqlite:///{tmp_path}/shop.db",
        query="select count(*) n from orders where email = :e",
        params={"e": EVIL},
    ) as src:
        assert _rows(src) == [{"n": 0}]


def _pg_orders(admin: psycopg.Connection, n: int) -> None:
    admin.execute(
        "create table orders (id int primary key, email text, total numeric(10,2), "
        "updated_at timestamptz, contents jsonb, ref uuid)"
    )
    start = datetime(2026, 3, 1, tzinfo=UTC)
    with admin.cursor() as cur:
        cur.executemany(
            "insert into orders values (%s, %s, %s, %s, %s, gen_random_uuid())",
            [
                (
                    i,
                    f"user{i}@example.com",
                    Decimal(f"{i}.25"),
                    start + timedelta(minutes=i),
                    orjson.dumps([{"content_id": f"sku-{i}"}]).decode(),
                )
                for i in range(1, n + 1)
            ],
        )


@pytest.mark.postgres
def test_postgresql_streams_typed_columns_with_a_bound_cursor(
    pg: tuple[str, psycopg.Connection],
) -> None:
    url, admin = pg
    _pg_orders(admin, 25)
    query = (
        "select id, email, total, updated_at, contents, ref, updated_at::date as day "
        "from orders where (:cursor is null or updated_at > :cursor) "
        "and email like 'user%' order by updated_at"
    )
    cursor = datetime(2026, 3, 1, 0, 20, tzinfo=UTC)
    with open_source(url, query=query, params={"cursor": cursor}, batch_rows=2) as src:
        assert src.columns == ["id", "email", "total", "updated_at", "contents", "ref", "day"]
        batches = list(src.batches())
    assert [b.num_rows for b in batches] == [2, 2, 1]
    rows = [row for b in batches for row in b.to_pylist()]
    assert [row["id"] for row in rows] == [21, 22, 23, 24, 25]
    assert rows[0]["total"] == Decimal("21.25")
    assert rows[0]["updated_at"] == datetime(2026, 3, 1, 0, 21, tzinfo=UTC)
    assert orjson.loads(rows[0]["contents"]) == [{"content_id": "sku-21"}]
    assert len(rows[0]["ref"]) == 36  # uuid as text

    with open_source(url, query=query, params={"cursor": None}) as src:
        assert len(_rows(src)) == 25
    with open_source(
        url, query="select count(*) n from orders where email = :e", params={"e": EVIL}
    ) as src:
        assert _rows(src) == [{"n": 0}]


@pytest.mark.postgres
def test_postgresql_errors(pg: tuple[str, psycopg.Connection]) -> None:
    url, admin = pg
    _pg_orders(admin, 1)
    admin.execute("create table people (email text)")
    admin.execute("insert into people values (%s)", (SECRET,))
    with (
        pytest.raises(SourceError, match="nope"),
        open_source(url, query="select nope from orders"),
    ):
        pass
    admin.execute("create sequence seq")
    with (
        pytest.raises(SourceError, match="read-only"),
        open_source(url, query="select nextval('seq')") as src,
    ):
        _rows(src)
    with (
        pytest.raises(SourceError) as raised,
        open_source(url, query="select email::int from people") as src,
    ):
        _rows(src)
    assert SECRET not in str(raised.value)
    port = free_port()  # nobody listens on it
    with (
        pytest.raises(SourceError, match="cannot connect"),
        open_source(f"postgresql://u:hunter2@127.0.0.1:{port}/db", query="select 1"),
    ):
        pass


@pytest.mark.postgres
def test_postgresql_terminated_mid_read_is_a_source_error(
    pg: tuple[str, psycopg.Connection],
) -> None:
    url, admin = pg
    _pg_orders(admin, 10)
    with (
        pytest.raises(SourceError, match="reading failed"),
        open_source(
            url, query="select id, pg_backend_pid() pid from orders order by id", batch_rows=2
        ) as src,
    ):
        _terminate_after_first_batch(src, admin)


def _terminate_after_first_batch(src, admin: psycopg.Connection) -> None:
    for batch in src.batches():
        admin.execute("select pg_terminate_backend(%s)", (batch.column("pid")[0].as_py(),))


@pytest.mark.postgres
def test_sqlalchemy_urls(tmp_path: Path, pg: tuple[str, psycopg.Connection]) -> None:
    _sqlite_db(tmp_path / "shop.db")
    query = "select id, '12:30' as t from orders where id >= :cursor order by id"
    with open_source(
        f"sqlite+pysqlite:///{tmp_path}/shop.db", query=query, params={"cursor": 6}, batch_rows=1
    ) as src:
        assert [b.num_rows for b in src.batches()] == [1, 1]
    with open_source(
        f"sqlite+pysqlite:///{tmp_path}/shop.db", query=query, params={"cursor": 7}
    ) as src:
        assert _rows(src) == [{"id": 7, "t": "12:30"}]

    url, admin = pg
    _pg_orders(admin, 3)
    with open_source(
        url.replace("postgresql://", "postgresql+psycopg://"),
        query="select id, total::text as t from orders where id > :cursor order by id",
        params={"cursor": 1},
    ) as src:
        assert _rows(src) == [{"id": 2, "t": "2.25"}, {"id": 3, "t": "3.25"}]

    with (
        pytest.raises(
            SourceError, match="no SQLAlchemy dialect or driver for 'snowflake'"
        ) as raised,
        open_source("snowflake://u:hunter2@acct/db", query="select 1"),
    ):
        pass
    assert "hunter2" not in str(raised.value)
