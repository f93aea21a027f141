"""Group commit: shared transactions, per-caller answers, failures, draining on stop."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.support.outbox_factories import event
from xconduit.errors import StoreError
from xconduit.outbox import IncomingEvent, JobStatus
from xconduit.outbox.counts import RECENT_PER_SOURCE, RecentEvent
from xconduit.outbox.group_commit import GroupCommitter
from xconduit.outbox.memory import MemoryStore
from xconduit.outbox.sqlite import SqliteStore


class SlowStore(MemoryStore):
    """A memory store whose commits take time (like an fsync) and can be made to fail."""

    def __init__(self, *, delay: float = 0.005) -> None:
        super().__init__()
        self.delay = delay
        self.commits: list[int] = []  # events per commit_events call
        self.fail_next = False

    def commit_events(
        self, events: Sequence[IncomingEvent], *, now: float, recent: bool = True
    ) -> list[bool]:
        self.commits.append(len(events))
        fail, self.fail_next = self.fail_next, False
        time.sleep(self.delay)
        if fail:
            raise StoreError("disk I/O error")
        return super().commit_events(events, now=now, recent=recent)


async def submit_all(committer: GroupCommitter, batches: list[list[IncomingEvent]]) -> list[object]:
    return await asyncio.gather(
        *(committer.submit(batch) for batch in batches), return_exceptions=True
    )


async def writer_busy(store: SlowStore) -> None:
    """Wait until the writer is inside its first commit."""
    while not store.commits:
        await asyncio.sleep(0.001)


def test_concurrent_submits_share_far_fewer_transactions() -> None:
    store = SlowStore()
    committer = GroupCommitter(store)
    committer.start()

    results = asyncio.run(submit_all(committer, [[event(f"m{i}")] for i in range(200)]))
    committer.stop()

    assert results == [[True]] * 200
    assert store.counts() == {"shop": {JobStatus.PENDING: 200}}
    assert sum(store.commits) == 200
    assert len(store.commits) == committer.transactions <= 20  # at least 10 events per commit


def test_each_caller_gets_its_own_slice_including_duplicates_across_callers() -> None:
    store = SlowStore(delay=0.05)
    committer = GroupCommitter(store)
    committer.start()

    async def scenario() -> list[object]:
        blocker = asyncio.ensure_future(committer.submit([event("first")]))
        await writer_busy(store)  # the rest queue up meanwhile and share the next commit
        rest = await submit_all(
            committer, [[event("a"), event("b")], [event("b"), event("c")], [event("first")]]
        )
        return [await blocker, *rest]

    results = asyncio.run(scenario())
    committer.stop()

    assert results == [[True], [True, True], [False, True], [False]]
    assert store.commits == [1, 5]


def test_a_failed_commit_fails_every_caller_of_that_group_only() -> None:
    store = SlowStore(delay=0.05)
    committer = GroupCommitter(store)
    committer.start()

    async def scenario() -> tuple[object, list[object], list[object]]:
        blocker = asyncio.ensure_future(committer.submit([event("first")]))
        await writer_busy(store)
        store.fail_next = True
        failed = await submit_all(committer, [[event("a")], [event("b")]])
        later = await submit_all(committer, [[event("a")], [event("c")]])
        return await blocker, failed, later

    first, failed, later = asyncio.run(scenario())
    committer.stop()

    assert first == [True]
    assert all(
        isinstance(error, StoreError) and isinstance(error.__cause__, StoreError)
        for error in failed
    )
    assert later == [[True], [True]]  # nothing of the failed group was committed
    assert store.counts() == {"shop": {JobStatus.PENDING: 3}}


def test_max_batch_caps_the_events_per_transaction() -> None:
    store = SlowStore(delay=0.02)
    committer = GroupCommitter(store, max_batch=10)
    committer.start()

    asyncio.run(submit_all(committer, [[event(f"m{i}"), event(f"n{i}")] for i in range(40)]))
    committer.stop()

    assert max(store.commits) <= 10
    assert sum(store.commits) == 80


def test_max_delay_gathers_submissions_that_arrive_while_waiting() -> None:
    store = SlowStore(delay=0.0)
    committer = GroupCommitter(store, max_batch=5, max_delay=10.0)  # commits once 5 are in
    committer.start()

    async def trickle() -> None:
        pending = []
        for i in range(5):
            pending.append(asyncio.ensure_future(committer.submit([event(f"m{i}")])))
            await asyncio.sleep(0.01)
        await asyncio.gather(*pending)

    asyncio.run(trickle())
    committer.stop()

    assert store.commits == [5]


def test_stop_commits_what_is_queued_then_refuses_more() -> None:
    store = SlowStore(delay=0.02)
    committer = GroupCommitter(store)
    committer.start()

    async def scenario() -> list[object]:
        pending = [asyncio.ensure_future(committer.submit([event(f"m{i}")])) for i in range(30)]
        await asyncio.sleep(0)  # all are queued
        await asyncio.to_thread(committer.stop)
        return list(await asyncio.gather(*pending))

    assert asyncio.run(scenario()) == [[True]] * 30
    with pytest.raises(StoreError, match="not running"):
        asyncio.run(committer.submit([event("late")]))


def test_a_cancelled_caller_does_not_stop_the_commit() -> None:
    store = SlowStore(delay=0.05)
    committer = GroupCommitter(store)
    committer.start()

    async def scenario() -> None:
        task = asyncio.ensure_future(committer.submit([event("gone")]))
        await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.sleep(0.1)

    asyncio.run(scenario())
    committer.stop()
    assert store.commit_events([event("gone")], now=0.0) == [False]


def test_with_sqlite_200_submitters_share_transactions(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "q.db")
    committer = GroupCommitter(store)
    committer.start()

    results = asyncio.run(submit_all(committer, [[event(f"m{i}")] for i in range(200)]))
    committer.stop()

    assert results == [[True]] * 200
    assert committer.transactions < 100
    assert store.counts() == {"shop": {JobStatus.PENDING: 200}}
    store.close()


def test_submitters_on_several_event_loops() -> None:
    store = SlowStore()
    committer = GroupCommitter(store)
    committer.start()
    answers: list[object] = []

    def loop_thread(n: int) -> None:
        answers.extend(
            asyncio.run(submit_all(committer, [[event(f"t{n}-{i}")] for i in range(20)]))
        )

    threads = [threading.Thread(target=loop_thread, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    committer.stop()

    assert answers == [[True]] * 60


def seen(message_id: str, *, source: str = "website") -> IncomingEvent:
    """An event with the live debugger's copy, as the collector makes it."""
    recent = RecentEvent(
        source=source, message_id=message_id, event="Order Completed", results=b"[]"
    )
    return dataclasses.replace(event(message_id, source=source), recent=recent)


class RecordingStore(SlowStore):
    """Notes which commits carried debugger rows, and each separate write of held ones."""

    def __init__(self) -> None:
        super().__init__(delay=0.05)
        self.commits_with_recent: list[int] = []
        self.recent_writes: list[list[str]] = []

    def commit_events(
        self, events: Sequence[IncomingEvent], *, now: float, recent: bool = True
    ) -> list[bool]:
        self.commits_with_recent.append(sum(e.recent is not None for e in events) if recent else 0)
        return super().commit_events(events, now=now, recent=recent)

    def add_recent(self, rows: Sequence[tuple[RecentEvent, float]]) -> None:
        self.recent_writes.append([recent.message_id for recent, _ in rows])
        super().add_recent(rows)


def test_debugger_rows_are_written_at_most_every_interval_held_ones_together() -> None:
    store = RecordingStore()
    committer = GroupCommitter(store, max_batch=10, recent_every=60.0)
    committer.start()

    async def scenario() -> list[object]:
        first = asyncio.ensure_future(committer.submit([seen(f"a{i}") for i in range(10)]))
        await writer_busy(store)  # b, c and d queue up meanwhile, a commit each (max_batch)
        rest = await submit_all(
            committer,
            [[seen(f"{name}{i}") for i in range(10)] for name in "bcd"]
            + [[seen("a0")]],  # a duplicate: no second debugger row
        )
        return [await first, *rest]

    results = asyncio.run(scenario())
    assert store.recent_writes == []  # b, c, d: held, the interval has not passed
    committer.stop()  # writes what it holds

    assert results == [[True] * 10] * 4 + [[False]]
    assert store.commits_with_recent == [10, 0, 0, 0, 0]  # only a's commit carried its rows
    assert store.recent_writes == [[f"{name}{i}" for name in "bcd" for i in range(10)]]
    shown = [row.message_id for row in store.recent_events(source="website")]
    assert shown == [f"{name}{i}" for name in "abcd" for i in range(10)][::-1]


def test_held_debugger_rows_are_written_once_the_interval_passes_without_traffic() -> None:
    store = RecordingStore()
    committer = GroupCommitter(store, recent_every=2.0)
    committer.start()
    try:
        assert asyncio.run(submit_all(committer, [[seen("first")]])) == [[True]]
        assert asyncio.run(submit_all(committer, [[seen("second")]])) == [[True]]
        shown = [row.message_id for row in store.recent_events(source="website")]
        assert shown == ["first"]  # the second is held: it came within the interval
        deadline = time.monotonic() + 10
        while len(store.recent_events(source="website")) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        shown = [row.message_id for row in store.recent_events(source="website")]
        assert shown == ["second", "first"]  # written with no further commit to carry it
        assert store.recent_writes == [["second"]]
    finally:
        committer.stop()


def test_held_rows_keep_only_the_newest_per_source() -> None:
    store = RecordingStore()
    committer = GroupCommitter(store, max_batch=60, recent_every=60.0)
    committer.start()

    async def scenario() -> None:
        first = asyncio.ensure_future(committer.submit([seen("first")]))
        await writer_busy(store)
        batches = [[seen(f"m{n}-{i}") for i in range(60)] for n in range(3)]
        await submit_all(committer, [*batches, [seen("other", source="app")]])
        await first

    asyncio.run(scenario())
    committer.stop()

    written = [m for rows in store.recent_writes for m in rows]
    assert len(written) == RECENT_PER_SOURCE + 1  # of 180 held website rows, and the app's
    shown = [row.message_id for row in store.recent_events(source="website")]
    newest = [f"m{n}-{i}" for n in range(3) for i in range(60)][-RECENT_PER_SOURCE:]
    assert shown == newest[::-1]
    assert [row.message_id for row in store.recent_events(source="app")] == ["other"]
