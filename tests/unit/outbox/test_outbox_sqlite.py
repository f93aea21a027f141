"""What only the SQLite store does: files, pragmas, migrations at open, the claim's index."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from tests.support.outbox_factories import event
from xconduit.errors import ConfigError, StoreError
from xconduit.outbox import IncomingEvent, JobStatus
from xconduit.outbox.audience_jobs import AudienceChange
from xconduit.outbox.sql import load_migrations
from xconduit.outbox.sqlite import Q, SqliteStore
from xconduit.outbox.sqlite.store import _commit
from xconduit.outbox.syncs import SyncState


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
            destination=None,  # type: ignore[arg-type]  # violates NOT NULL mid-transaction
            account_id="a",
            pixel_id="p",
            message_id="b",
            conversion_id="c",
            payload=b"{}",
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


def _nul(message_id: str) -> IncomingEvent:
    """An event whose conversion id holds a NUL (SQLite's JSON functions end a string there)."""
    made = event(message_id)
    made.jobs = (dataclasses.replace(made.jobs[0], conversion_id="order\x00" + message_id),)
    return made


def _with_audience(message_id: str) -> IncomingEvent:
    made = event(message_id)
    made.audience_changes = (
        AudienceChange(audience="vip", user_key="k" + message_id, op="add", payload=b"{}"),
    )
    return made


def _varied(message_id: str, n: int) -> IncomingEvent:
    """An event whose job's account, owner, priority and time differ from the others'."""
    made = event(message_id)
    made.jobs = (
        dataclasses.replace(
            made.jobs[0],
            account_id=f"acct{n % 2}",
            owner=f"key{n % 3}",
            priority=n % 10,
            conversion_time=f"2026-12-0{n % 9 + 1}T10:00:00.000Z",
        ),
    )
    return made


BATCHES = {
    "one source": lambda: [event("a"), event("b"), event("c")],
    "an id twice in the batch": lambda: [event("a"), event("b"), event("a")],
    "an id seen in an earlier commit": lambda: [event("seen"), event("new")],
    "two sources, the same id": lambda: [event("a"), event("a", source="app"), event("b")],
    "two destinations": lambda: [event("a", destinations=("shop", "blog")), event("b")],
    "an event without jobs": lambda: [IncomingEvent(source="website", message_id="n"), event("b")],
    "a NUL in a conversion id": lambda: [event("a"), _nul("b")],
    "a NUL in a message id": lambda: [event("a"), event("b\x00c")],
    "an audience change": lambda: [event("a"), _with_audience("b")],
    "unicode ids": lambda: [event("ü-1"), event("日本-2"), event("😀")],
    "accounts, owners, priorities, times": lambda: [_varied(f"v{n}", n) for n in range(7)],
}


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_a_collector_commit_stores_what_one_statement_per_event_stores(
    tmp_path: Path, name: str
) -> None:
    """The collector's commit goes in bulk (a few JSON statements); the rows it leaves, and
    its answer per event, are those of the per-event statements (`_commit`). Ids follow event
    order within a destination, owner, account and pixel (what a claim reads), not across."""
    outcomes = []
    for way, folder in (("bulk", "a"), ("per event", "b")):
        store = SqliteStore(tmp_path / f"{folder}.db")
        store.commit_events([event("seen")], now=1.0)
        if way == "per event":
            with store._write() as conn:
                accepted = _commit(conn, BATCHES[name](), 2.0)
        else:
            accepted = store.commit_events(BATCHES[name](), now=2.0)
        jobs = store._conn.execute(
            "SELECT destination, account_id, pixel_id, message_id, conversion_id, payload, status,"
            " created_at, traced, owner, priority, conversion_time FROM delivery_jobs"
            " ORDER BY destination, owner, account_id, pixel_id, id"
        ).fetchall()
        seen = store._conn.execute(
            "SELECT source, message_id, received_at FROM received_events ORDER BY 1, 2"
        ).fetchall()
        changes = store._conn.execute("SELECT audience, user_key FROM audience_changes").fetchall()
        outcomes.append((accepted, [tuple(r) for r in jobs], [tuple(r) for r in seen], changes))
        store.close()
    assert outcomes[0] == outcomes[1]
    assert any(outcomes[0][0])


@pytest.mark.parametrize("name", ["one source", "a NUL in a conversion id"])
def test_a_syncs_jobs_stay_out_of_the_debuggers_index_whichever_way_they_go(
    tmp_path: Path, name: str
) -> None:
    """A sync's batch with a NUL goes through the per-event statements: still untraced."""
    store = SqliteStore(tmp_path / "q.db")
    state = SyncState(cursor=None, generation=0)
    store.commit_sync_batch("orders", BATCHES[name](), state=state, now=1.0)
    traced = store._conn.execute("SELECT DISTINCT traced FROM delivery_jobs").fetchall()
    assert [tuple(row) for row in traced] == [(0,)]
    store.close()
