"""`submit(..., timeout=)`: events still queued at the timeout are withdrawn, never committed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest
from outbox_factories import event

from xconduit.errors import StoreBusy
from xconduit.queue import IncomingEvent, JobStatus
from xconduit.queue.group_commit import GroupCommitter
from xconduit.queue.memory import MemoryStore


class HeldStore(MemoryStore):
    """A store whose first commit blocks until released (a writer stuck behind a lock)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def commit_events(self, events: Sequence[IncomingEvent], *, now: float) -> list[bool]:
        self.entered.set()
        self.release.wait(timeout=10)
        return super().commit_events(events, now=now)


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
        store.release.set()  # the stuck commit finishes: its caller gets the real answer
        return await first

    answered = asyncio.run(scenario())
    committer.stop()
    assert answered == [True]
    assert store.counts() == {"shop": {JobStatus.PENDING: 1}}  # "queued" was never committed
