"""`submit(..., timeout=)`: events still queued at the timeout are withdrawn, never committed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from tests.support.outbox_factories import event
from xconduit.errors import StoreBusy
from xconduit.outbox import IncomingEvent, JobStatus
from xconduit.outbox.group_commit import GroupCommitter
from xconduit.outbox.memory import MemoryStore


class HeldStore(MemoryStore):
    """A store whose first commit blocks until released (a writer stuck behind a lock)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.unblock = threading.Event()

    def commit_events(
        self, events: Sequence[IncomingEvent], *, now: float, recent: bool = True
    ) -> list[bool]:
        self.entered.set()
        self.unblock.wait(timeout=10)
        return super().commit_events(events, now=now, recent=recent)


def test_queued_events_past_the_timeout_are_withdrawn_and_in_flight_ones_answered() -> None:
    store = HeldStore()
    committer = GroupCommitter(store)
    committer.start()

    async def scenario() -> list[bool]:
        first = asyncio.ensure_future(committer.submit([event("in-flight")], timeout=0.05))
        while not store.entered.is_set():
            await asyncio.sleep(0.001)
        with pytest.raises(StoreBusy):
            await committer.submit([event("queued")], timeout=0.05)
        store.unblock.set()  # the stuck commit finishes: its caller gets the real answer
        return await first

    answered = asyncio.run(scenario())
    committer.stop()
    assert answered == [True]
    assert store.counts() == {"shop": {JobStatus.PENDING: 1}}  # "queued" was never committed


class BusyStore(HeldStore):
    """The first commit waits until released, then finds the store still held."""

    def commit_events(
        self, events: Sequence[IncomingEvent], *, now: float, recent: bool = True
    ) -> list[bool]:
        if not self.entered.is_set():
            self.entered.set()
            self.unblock.wait(timeout=10)
            raise StoreBusy("held by another writer")
        return MemoryStore.commit_events(self, events, now=now, recent=recent)


def test_what_queued_behind_a_commit_that_found_the_store_busy_is_answered_busy_too() -> None:
    # It would otherwise wait a whole busy_timeout more, after waiting behind that commit.
    store = BusyStore()
    committer = GroupCommitter(store)
    committer.start()

    async def scenario() -> list[BaseException | list[bool]]:
        first = asyncio.ensure_future(committer.submit([event("first")]))
        while not store.entered.is_set():
            await asyncio.sleep(0.001)
        second = asyncio.ensure_future(committer.submit([event("second")]))
        await asyncio.sleep(0.01)
        store.unblock.set()
        return list(await asyncio.gather(first, second, return_exceptions=True))

    answers = asyncio.run(scenario())
    assert [type(a) for a in answers] == [StoreBusy, StoreBusy]
    assert asyncio.run(committer.submit([event("later")])) == [True]  # the next one tries again
    committer.stop()
    assert store.counts() == {"shop": {JobStatus.PENDING: 1}}
