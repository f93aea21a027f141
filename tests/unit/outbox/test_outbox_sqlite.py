"""What only the SQLite store does: files, pragmas, migrations at open, the claim's index."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support.outbox_factories import event
from xconduit.errors import ConfigError, StoreError
from xconduit.outbox import JobStatus
from xconduit.outbox.sql import load_migrations
from xconduit.outbox.sqlite import Q, SqliteStore


def test_jobs_outlive_the_store_object(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "q.db")
    store.commit_events([event("a"), event("b")], now=1.0)
    (claimed, _) = store.claim_batch("shop", limit=5, now=2.0, lease_seconds=30.0)
    store.mark_delivered([claimed.id], now=3.0)
    store.close()

    reopened = SqliteStore(tmp_path / "q.db")
    assert reopened.counts() == {"shop": {JobStatus.DELIVERED: 1, JobStatus.IN_FLIGHT: 1}}
    assert reopened.commit_events([event("a")], now=4.0) == [False]
    reopened.close()


@pytest.mark.parametrize(("mode", "level"), [("FULL", 2), ("normal", 1), ("EXTRA", 3)])
def test_opens_in_wal_mode_with_the_chosen_sync(tmp_path: Path, mode: str, level: int) -> None:
    store = SqliteStore(tmp_path / "q.db", synchronous=mode)
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == level
    store.close()


def test_refuses_an_unknown_sync_mode(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="synchronous must be one of"):
        SqliteStore(tmp_path / "q.db", synchronous="OFF")


def test_open_applies_the_migrations_once(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "q.db").close()
    store = SqliteStore(tmp_path / "q.db")
    rows = store._conn.execute("SELECT version, name FROM schema_version").fetchall()
    assert [tuple(row) for row in rows] == [(m.version, m.name) for m in load_migrations("sqlite")]
    assert store.schema_version == load_migrations("sqlite")[-1].version
    store.close()


def test_refuses_a_database_from_a_newer_xconduit(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "q.db").close()
    with sqlite3.connect(tmp_path / "q.db") as conn:
        conn.execute("INSERT INTO schema_version (version, name) VALUES (999, 'future')")
    conn.close()

    with pytest.raises(StoreError, match="newer than this xconduit"):
        SqliteStore(tmp_path / "q.db")


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "q.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the outbox"):
        SqliteStore(tmp_path / "q.db")


def test_a_failed_commit_leaves_nothing_behind(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "q.db")
    bad = (
        event("b")
        .jobs[0]
        .__class__(
            destination="shop",
            account_id="a",
            pixel_id="p",
            message_id="b",
            conversion_id="c",
            payload=None,  # type: ignore[arg-type]  # violates NOT NULL mid-transaction
        )
    )
    broken = event("b").__class__(source="website", message_id="b", jobs=(bad,))

    with pytest.raises(StoreError, match="outbox write failed"):
        store.commit_events([event("a"), broken], now=1.0)

    assert store.counts() == {}
    assert store.commit_events([event("a")], now=2.0) == [True]  # "a" was not remembered
    store.close()


def test_the_claim_uses_the_partial_due_index(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "q.db")
    plan = store._conn.execute(
        "EXPLAIN QUERY PLAN " + Q["claim_batch"],
        {
            "destination": "shop",
            "owner": "k",
            "now": 1.0,
            "limit": 500,
            "oldest": 50,
            "lease_until": 2.0,
        },
    ).fetchall()
    assert any("USING INDEX delivery_jobs_due" in row[3] for row in plan), plan
    # Both equalities are index columns: the claim reads no other owner's rows.
    assert any("destination=? AND owner=? AND next_attempt_at<?" in row[3] for row in plan), plan
    # The priority order walks its own index: no sort of the whole backlog at each claim.
    assert any("USING INDEX delivery_jobs_priority" in row[3] for row in plan), plan
    assert not any("TEMP B-TREE" in row[3] for row in plan), plan
    store.close()
