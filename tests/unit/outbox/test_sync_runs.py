"""Each sync's run history (migration 0015), against each store."""

from __future__ import annotations

from xconduit.outbox import Store
from xconduit.outbox.sync_runs import KEEP, SyncRun, SyncRuns


def test_runs_come_back_newest_first_per_sync(store: Store) -> None:
    assert isinstance(store, SyncRuns)
    assert store.sync_runs("orders") == []
    first = SyncRun(
        sync="orders",
        started_at=10.0,
        seconds=1.5,
        rows_read=5,
        enqueued=3,
        rejected=1,
        repeated=1,
        cursor_after='{"type":"int","value":5}',
        report="orders-rejected-20260101T000000Z.csv",
    )
    failed = SyncRun(
        sync="orders",
        started_at=20.0,
        seconds=0.2,
        cursor_before='{"type":"int","value":5}',
        outcome="failed",
        why="the source failed after 0 rows: no such table \x00x",
    )
    store.note_sync_run(first)
    store.note_sync_run(failed)
    store.note_sync_run(SyncRun(sync="other", started_at=30.0, seconds=0.0))
    assert store.sync_runs("orders") == [failed, first]
    assert store.sync_runs("orders", limit=1) == [failed]
    assert [r.sync for r in store.sync_runs("other")] == ["other"]


def test_only_the_newest_runs_are_kept(store: Store) -> None:
    assert isinstance(store, SyncRuns)
    for n in range(KEEP + 5):
        store.note_sync_run(SyncRun(sync="orders", started_at=float(n), seconds=0.0))
    kept = store.sync_runs("orders", limit=KEEP + 10)
    assert len(kept) == KEEP
    assert kept[0].started_at == KEEP + 4
    assert kept[-1].started_at == 5
