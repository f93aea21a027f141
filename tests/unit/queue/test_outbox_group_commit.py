"""Group commit: shared transactions, per-caller answers, failures, draining on stop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.support.outbox_factories import event
from xconduit.errors import StoreError
from xconduit.queue import IncomingEvent, JobStatus
from xconduit.queue.group_commit import GroupCommitter
from xconduit.queue.memory import MemoryStore
from xconduit.queue.sqlite import SqliteStore


class SlowStore(MemoryStore):
    """A memory store whose commits take time (like an fsync) and can be made to fail."""

    def __init__(self, *, delay: float = 0.005) -> None:
        super().__init__()
        self.delay = delay
        self.commits: list[int] = []  # events per commit_events call
        self.fail_next = False

    def commit_events(self, events: Sequence[IncomingEvent], *, now: float) -> list[bool]:
        self.commits.append(len(events))
        fail, self.fail_next = self.fail_next, False
        time.sleep(self.delay)
        if fail:
            raise StoreError("disk I/O error")
        return super().commit_events(events, now=now)


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
