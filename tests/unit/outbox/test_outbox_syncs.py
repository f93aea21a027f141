"""A sync's cursor is committed with its rows' jobs, in one transaction; heartbeats tell which
delivery processes are alive. Run against each store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support.outbox_factories import event
from xconduit.errors import StoreError
from xconduit.outbox import JobStatus, Store
from xconduit.outbox.sqlite import SqliteStore
from xconduit.outbox.syncs import ProcessReport, SyncState, SyncStore


def test_the_state_and_the_jobs_commit_together(store: Store) -> None:
    assert isinstance(store, SyncStore)
    assert store.sync_state("orders") is None
    assert store.last_job_id() == 0
    commit = store.commit_sync_batch(
        "orders",
        [event("a"), event("b")],
        state=SyncState(cursor='{"type":"int","value":2}'),
        now=1.0,
    )
    assert commit.accepted == [True, True]
    assert commit.last_job_id == 2
    assert store.sync_state("orders") == SyncState(cursor='{"type":"int","value":2}', generation=0)

    again = store.commit_sync_batch(
        "orders", [event("b"), event("c")], state=SyncState(cursor="3", generation=1), now=2.0
    )
    assert again.accepted == [False, True]  # a row read again is not enqueued twice
    assert again.last_job_id == 3
    assert store.sync_state("orders") == SyncState(cursor="3", generation=1)
    assert store.job_counts_between("shop", 2, 3) == {JobStatus.PENDING: 2}
    assert store.job_counts_between("other", 1, 3) == {}


def test_a_failed_commit_moves_neither_the_cursor_nor_any_job(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "q.db")
    store.commit_sync_batch("orders", [event("a")], state=SyncState(cursor="1"), now=1.0)
    other = sqlite3.connect(tmp_path / "q.db")
    other.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON delivery_jobs BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    other.commit()
    with pytest.raises(StoreError):
        store.commit_sync_batch("orders", [event("b")], state=SyncState(cursor="2"), now=2.0)
    assert store.sync_state("orders") == SyncState(cursor="1")
    assert store.last_job_id() == 1
    other.execute("DROP TRIGGER boom")
    other.commit()
    # The failed batch's rows were not remembered either: the retry enqueues them.
    assert store.commit_sync_batch(
        "orders", [event("b")], state=SyncState(cursor="2"), now=3.0
    ).accepted == [True]
    store.close()
    other.close()


def test_heartbeats_tell_which_workers_are_alive(store: Store) -> None:
    assert isinstance(store, SyncStore)
    store.heartbeat("w1", kind="serve", host="h", pid=1, now=100.0)
    store.heartbeat("w2", kind="worker", host="h", pid=2, now=50.0)
    assert store.live_workers(since=80.0) == 1
    store.heartbeat("w2", kind="worker", host="h", pid=2, now=90.0)
    assert store.live_workers(since=80.0) == 2
    store.forget_worker("w1")
    assert store.live_workers(since=0.0) == 1


def test_each_heartbeat_carries_the_process_s_latest_report(store: Store) -> None:
    assert isinstance(store, SyncStore)
    store.heartbeat("w1", kind="worker", host="b", pid=7, now=100.0, report='{"problems": ["x"]}')
    store.heartbeat("w2", kind="serve", host="a", pid=3, now=100.0)
    store.heartbeat("w3", kind="worker", host="c", pid=1, now=10.0, report="{}")  # stale
    assert store.live_reports(since=80.0) == [
        ProcessReport(id="w2", kind="serve", host="a", pid=3, seen_at=100.0, report=None),
        ProcessReport(
            id="w1", kind="worker", host="b", pid=7, seen_at=100.0, report='{"problems": ["x"]}'
        ),
    ]
    store.heartbeat("w1", kind="worker", host="b", pid=7, now=105.0, report='{"problems": []}')
    assert [r.report for r in store.live_reports(since=80.0) if r.id == "w1"] == [
        '{"problems": []}'
    ]


def test_the_same_row_twice_in_one_batch_is_enqueued_once(store: Store) -> None:
    assert isinstance(store, SyncStore)
    commit = store.commit_sync_batch(
        "orders",
        [event("a", source="sync:orders"), event("a", source="sync:orders")],
        state=SyncState(),
        now=1.0,
    )
    assert commit.accepted == [True, False]
    [job] = store.claim_batch("shop", limit=10, now=2.0, lease_seconds=5)
    assert job.payload == b'{"conversion_id":"order-a"}'  # the payload's bytes, as given


def test_a_batch_keeps_the_first_of_an_id_and_drops_ids_seen_before(store: Store) -> None:
    assert isinstance(store, SyncStore)
    store.commit_sync_batch("orders", [event("seen")], state=SyncState(cursor="1"), now=1.0)
    batch = [event("new"), event("seen"), event("new"), event("other")]
    commit = store.commit_sync_batch("orders", batch, state=SyncState(cursor="2"), now=2.0)
    assert commit.accepted == [True, False, False, True]
    assert commit.last_job_id == 3


def test_the_debugger_finds_the_collectors_jobs_beside_a_syncs(tmp_path: Path) -> None:
    """A sync's jobs are untraced (migration 0006): the debugger only asks for the collector's
    recent events, whose jobs it still finds (among their commit's, 0017)."""
    store = SqliteStore(tmp_path / "q.db")
    store.commit_events([event("from-the-site")], now=1.0)
    store.commit_sync_batch("orders", [event("a-row")], state=SyncState(cursor="1"), now=2.0)
    key = ("shop", "from-the-site", 1.0)
    assert store.job_states([key]) == {key: "pending"}
    traced = store._conn.execute("SELECT message_id, traced FROM delivery_jobs ORDER BY id")
    assert [tuple(row) for row in traced] == [("from-the-site", 1), ("a-row", 0)]
    store.close()
