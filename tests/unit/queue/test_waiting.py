"""Jobs waiting per destination, owner and priority, against each store."""

from __future__ import annotations

from xconduit.queue import IncomingEvent, NewJob, Store
from xconduit.queue.waiting import WaitingStore

NOW = 1_800_000_000.0


def job(n: int, priority: int, destination: str = "shop") -> IncomingEvent:
    return IncomingEvent(
        source="web",
        message_id=f"m-{destination}-{n}",
        jobs=(
            NewJob(
                destination=destination,
                account_id="acc",
                pixel_id="px",
                message_id=f"m-{destination}-{n}",
                conversion_id=f"c-{n}",
                payload=b"{}",
                owner="k1",
                priority=priority,
            ),
        ),
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
