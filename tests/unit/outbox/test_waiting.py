"""Jobs waiting per destination, owner and priority, against each store."""

from __future__ import annotations

from tests.support.priority_jobs import priority_job
from xconduit.outbox import IncomingEvent, Store
from xconduit.outbox.waiting import WaitingStore

NOW = 1_800_000_000.0


def job(n: int, priority: int, destination: str = "shop") -> IncomingEvent:
    return priority_job(
        f"m-{destination}-{n}", priority=priority, destination=destination, owner="k1"
    )


def test_waiting_jobs_are_counted_per_priority_delivered_ones_not(store: Store) -> None:
    assert isinstance(store, WaitingStore)
    assert store.waiting_by_priority() == {}
    events = [job(n, 0) for n in range(3)] + [job(n, 8) for n in range(3, 8)]
    store.commit_events([*events, job(1, 9, "blog")], now=NOW)
    claimed = store.claim_batch("shop", limit=2, now=NOW, lease_seconds=60, owner="k1")
    assert [j.message_id for j in claimed] == ["m-shop-0", "m-shop-1"]  # purchases first
    store.mark_delivered([claimed[0].id], now=NOW)  # the other stays waiting, in flight
    assert store.waiting_by_priority() == {
        ("shop", "k1", 0): 2,
        ("shop", "k1", 8): 5,
        ("blog", "k1", 9): 1,
    }
