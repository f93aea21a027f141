"""Migration 0016 fills the hourly amounts from the per-minute ones still kept, so the
overview's charts do not start empty after an upgrade."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from xconduit.outbox import postgres, sqlite
from xconduit.outbox.sql import load_migrations

MINUTES = [
    (29_454_480, "conversions_delivered", '{"destination":"shop","event":"Purchase"}', 2.0),
    (29_454_539, "conversions_delivered", '{"destination":"shop","event":"Purchase"}', 3.0),
    (29_454_540, "conversions_dead", '{"destination":"shop","reason":"http_400"}', 1.0),
    (29_454_540, "conversions_queued", '{"destination":"shop"}', 9.0),
]
HOURS = [
    (490_908, "conversions_delivered", '{"destination":"shop","event":"Purchase"}', 5.0),
    (490_909, "conversions_dead", '{"destination":"shop","reason":"http_400"}', 1.0),
]
SQLITE_BACK_TO_16 = (
    "DROP TABLE job_commits",
    "CREATE INDEX delivery_jobs_message ON delivery_jobs (destination, message_id) WHERE traced = 1",
    "DELETE FROM schema_version WHERE version = 17",
)
POSTGRESQL_BACK_TO_16 = (
    "DROP TABLE job_commits",
    "CREATE INDEX job_payloads_message ON job_payloads (destination, message_id)",
    "DELETE FROM schema_version WHERE version IN (17, 18)",  # 0018 runs again: harmless
)
BACK_TO_15 = (
    "DROP TABLE counter_hours",
    "DELETE FROM schema_version WHERE version = 16",
)


def test_sqlite(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "q.db", isolation_level=None)
    sqlite.migrate(conn)
    for statement in SQLITE_BACK_TO_16 + BACK_TO_15:
        conn.execute(statement)
    conn.executemany("INSERT INTO counter_minutes VALUES (?, ?, ?, ?)", MINUTES)
    assert sqlite.migrate(conn) == load_migrations("sqlite")[-1].version
    assert conn.execute("SELECT * FROM counter_hours ORDER BY hour").fetchall() == HOURS


@pytest.mark.postgres
def test_postgresql(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        postgres.migrate(conn)
        for statement in POSTGRESQL_BACK_TO_16 + BACK_TO_15:
            conn.execute(statement.encode())
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO counter_minutes VALUES (%s, %s, %s, %s)", MINUTES)
        assert postgres.migrate(conn) == load_migrations("postgresql")[-1].version
        rows: list[Any] = conn.execute("SELECT * FROM counter_hours ORDER BY hour").fetchall()
        assert rows == HOURS
