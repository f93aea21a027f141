"""Applying every migration in order to an empty database gives exactly `schema.sql`."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from xconduit.outbox.sql import load_migrations, load_schema
from xconduit.outbox.sqlite import SqliteStore, migrate, split_statements


def normalised_schema(conn: sqlite3.Connection) -> list[tuple[str, str, str, str]]:
    """Every table, index, view and trigger, with SQL compared modulo whitespace and comments."""
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master "
        "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
    ).fetchall()
    return [(kind, name, table, _normalise(sql or "")) for kind, name, table, sql in rows]


def _normalise(sql: str) -> str:
    sql = re.sub(r"--[^\n]*", "", sql)
    sql = re.sub(r"\s+", " ", sql)
    return re.sub(r"\s*([(),])\s*", r"\1", sql).strip()


def test_migrations_in_order_equal_the_fresh_schema(tmp_path: Path) -> None:
    migrated = sqlite3.connect(tmp_path / "migrated.db", isolation_level=None)
    assert migrate(migrated) == load_migrations("sqlite")[-1].version

    fresh = sqlite3.connect(tmp_path / "fresh.db", isolation_level=None)
    for statement in split_statements(load_schema("sqlite")):
        fresh.execute(statement)

    assert normalised_schema(migrated) == normalised_schema(fresh)
    assert normalised_schema(migrated)  # not two empty lists


def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "q.db", isolation_level=None)
    migrate(conn)
    before = normalised_schema(conn)
    assert migrate(conn) == load_migrations("sqlite")[-1].version
    assert normalised_schema(conn) == before
    assert conn.execute("SELECT count(*) FROM schema_version").fetchone()[0] == len(
        load_migrations("sqlite")
    )


def test_the_store_opens_a_database_built_from_schema_sql(tmp_path: Path) -> None:
    """A database made by hand from schema.sql (and its version rows) is a current one."""
    conn = sqlite3.connect(tmp_path / "q.db", isolation_level=None)
    for statement in split_statements(load_schema("sqlite")):
        conn.execute(statement)
    for migration in load_migrations("sqlite"):
        conn.execute(
            "INSERT INTO schema_version (version, name) VALUES (?, ?)",
            (migration.version, migration.name),
        )
    conn.close()

    store = SqliteStore(tmp_path / "q.db")
    assert store.schema_version == load_migrations("sqlite")[-1].version
    assert store.counts() == {}
    store.close()
