"""Applying every PostgreSQL migration in order to an empty schema gives exactly `schema.sql`."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from tests.support.pgtemp import temp_schema
from xconduit.errors import StoreError
from xconduit.outbox.postgres import PostgresStore, migrate
from xconduit.outbox.sql import load_migrations, load_schema

pytestmark = pytest.mark.postgres


def described_schema(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """Columns, constraints, indexes and sequences of the current schema, as the catalog says."""
    columns = conn.execute(
        "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = current_schema() "
        "ORDER BY table_name, column_name"
    ).fetchall()
    constraints = conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2"
    ).fetchall()
    indexes = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
        "ORDER BY indexname"
    ).fetchall()
    sequences = conn.execute(
        "SELECT sequence_name FROM information_schema.sequences "
        "WHERE sequence_schema = current_schema() ORDER BY 1"
    ).fetchall()
    options = conn.execute(
        "SELECT relname, reloptions FROM pg_class "
        "WHERE relnamespace = current_schema()::regnamespace AND reloptions IS NOT NULL "
        "ORDER BY relname"
    ).fetchall()
    return [*columns, *constraints, *indexes, *sequences, *options]


def schema_of(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SELECT current_schema()").fetchone()
    assert row is not None
    return str(row[0])


def test_migrations_in_order_equal_the_fresh_schema() -> None:
    with temp_schema() as migrated_url, temp_schema() as fresh_url:
        with psycopg.connect(migrated_url, autocommit=True) as migrated:
            assert migrate(migrated) == load_migrations("postgresql")[-1].version
            a_name, a = schema_of(migrated), described_schema(migrated)
        with psycopg.connect(fresh_url, autocommit=True) as fresh:
            fresh.execute(load_schema("postgresql").encode())
            b_name, b = schema_of(fresh), described_schema(fresh)

    # Index definitions name their schema, and the two schemas have different names.
    assert [repr(r).replace(a_name, "S") for r in a] == [repr(r).replace(b_name, "S") for r in b]
    assert a  # not two empty lists


def test_migrating_twice_changes_nothing(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrate(conn)
        before = described_schema(conn)
        assert migrate(conn) == load_migrations("postgresql")[-1].version
        assert described_schema(conn) == before
        row = conn.execute("SELECT count(*) FROM schema_version").fetchone()
        assert row == (len(load_migrations("postgresql")),)


def test_processes_opening_a_new_database_at_once_migrate_it_once(pg_url: str) -> None:
    stores: list[PostgresStore] = []
    start = threading.Barrier(4)

    def open_one() -> None:
        start.wait()
        stores.append(PostgresStore(pg_url, max_connections=1))

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [store.schema_version for store in stores] == [
        load_migrations("postgresql")[-1].version
    ] * 4
    for store in stores:
        store.close()


def test_a_newer_database_is_refused(pg_url: str) -> None:
    PostgresStore(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version (version, name) VALUES (999, 'future')")

    with pytest.raises(StoreError, match="newer than this xconduit knows"):
        PostgresStore(pg_url)
