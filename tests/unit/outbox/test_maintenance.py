"""The purge thread: what a round deletes, and that a busy store does not end it."""

from __future__ import annotations

import threading

from tests.support.outbox_factories import event
from xconduit.errors import StoreBusy
from xconduit.outbox import JobStatus, Store
from xconduit.outbox.maintenance import Maintenance
from xconduit.outbox.memory import MemoryStore

DAY = 24 * 3600.0


def test_a_round_deletes_delivered_jobs_past_the_retention(store: Store) -> None:
    store.commit_events([event("old"), event("new"), event("waiting")], now=0.0)
    old, new, _ = store.claim_batch("shop", limit=3, now=0.0, lease_seconds=60.0)
    store.mark_delivered([old.id], now=0.0)
    store.mark_delivered([new.id], now=2 * DAY)

    delivered, _ = Maintenance(store, retention=DAY, clock=lambda: 2.5 * DAY).run_once()

    assert delivered == 1
    assert store.counts() == {"shop": {JobStatus.DELIVERED: 1, JobStatus.IN_FLIGHT: 1}}


def test_duplicates_are_refused_for_a_day_even_with_a_shorter_retention(store: Store) -> None:
    store.commit_events([event("a")], now=0.0)

    Maintenance(store, retention=3600.0, clock=lambda: 0.9 * DAY).run_once()
    assert store.commit_events([event("a")], now=0.9 * DAY) == [False]

    Maintenance(store, retention=3600.0, clock=lambda: 1.1 * DAY).run_once()
    assert store.commit_events([event("a")], now=1.1 * DAY) == [True]


def test_duplicates_are_refused_as_long_as_a_longer_retention(store: Store) -> None:
    store.commit_events([event("a")], now=0.0)

    Maintenance(store, retention=3 * DAY, clock=lambda: 2 * DAY).run_once()

    assert store.commit_events([event("a")], now=2 * DAY) == [False]


class BusyOnce(MemoryStore):
    """A store whose first purge fails as a locked database does."""

    def __init__(self) -> None:
        super().__init__()
        self.rounds = 0
        self.done = threading.Event()

    def purge_delivered(self, older_than: float) -> int:
        self.rounds += 1
        if self.rounds == 1:
            raise StoreBusy("the outbox is busy")
        self.done.set()
        return super().purge_delivered(older_than)


def test_a_busy_store_is_purged_again_next_round() -> None:
    store = BusyOnce()
    maintenance = Maintenance(store, retention=DAY, interval=0.01)

    maintenance.start()
    try:
        assert store.done.wait(5.0)
    finally:
        maintenance.stop()
