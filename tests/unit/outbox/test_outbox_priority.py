"""The claim by priority, on every store: urgent and fresh first, a share to the longest due."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.pgtemp import temp_schema
from xconduit.outbox import IncomingEvent, NewJob, Store
from xconduit.outbox.jobs import oldest_share
from xconduit.outbox.postgres import PostgresStore
from xconduit.outbox.postgres import Q as PQ


def job(n: int, *, priority: int, time: str) -> IncomingEvent:
    new = NewJob(
        destination="shop",
        account_id="a",
        pixel_id="p",
        message_id=f"m{n}",
        conversion_id=f"c{n}",
        payload=b"{}",
        priority=priority,
        conversion_time=time,
    )
    return IncomingEvent(source="web", message_id=f"m{n}", jobs=(new,))


def at(minute: int) -> str:
    return f"2026-12-01T10:{minute:02d}:00.000Z"


def test_purchases_queued_behind_page_views_are_claimed_first(store: Store) -> None:
    views = [job(n, priority=8, time=at(n % 60)) for n in range(100)]
    purchases = [job(n, priority=0, time=at(n % 60)) for n in range(100, 110)]
    store.commit_events(views, now=1.0)
    store.commit_events(purchases, now=2.0)
    claimed = store.claim_batch("shop", limit=20, now=3.0, lease_seconds=60.0)
    ids = {j.message_id for j in claimed}
    assert len(claimed) == 20
    assert {f"m{n}" for n in range(100, 110)} <= ids  # every purchase
    # Two (a tenth) are the longest due whatever their priority: the first page views.
    assert {"m0", "m1"} <= ids


def test_within_a_priority_the_freshest_conversion_goes_first(store: Store) -> None:
    store.commit_events([job(1, priority=4, time=at(5))], now=1.0)
    store.commit_events([job(2, priority=4, time=at(30))], now=2.0)
    store.commit_events([job(3, priority=4, time=at(10))], now=3.0)
    store.commit_events([job(4, priority=4, time="")], now=4.0)  # a time unknown: last
    first = store.claim_batch("shop", limit=1, now=5.0, lease_seconds=60.0)
    assert [j.message_id for j in first] == ["m2"]
    assert first[0].conversion_time == at(30)
    rest = store.claim_batch("shop", limit=1, now=5.0, lease_seconds=60.0)
    assert [j.message_id for j in rest] == ["m3"]


def test_live_traffic_never_starves_a_backfill(store: Store) -> None:
    """A backfill (last priority) queued first keeps a tenth of every claim however much urgent
    work keeps arriving; the rest of the claim goes to the urgent work."""
    store.commit_events([job(n, priority=9, time=at(0)) for n in range(50)], now=1.0)
    backfill = 0
    for round_ in range(5):
        live = [job(1000 + 10 * round_ + n, priority=0, time=at(59)) for n in range(10)]
        store.commit_events(live, now=2.0 + round_)
        claimed = store.claim_batch("shop", limit=10, now=10.0 + round_, lease_seconds=60.0)
        ids = [int(j.message_id[1:]) for j in claimed]
        assert len(ids) == 10
        assert sum(1 for n in ids if n < 50) == oldest_share(10) == 1
        backfill += sum(1 for n in ids if n < 50)
    assert backfill == 5


def test_a_small_backlog_is_claimed_whole(store: Store) -> None:
    store.commit_events([job(n, priority=n % 10, time=at(n)) for n in range(7)], now=1.0)
    claimed = store.claim_batch("shop", limit=500, now=2.0, lease_seconds=60.0)
    assert len(claimed) == 7


def test_the_share_of_the_longest_due() -> None:
    assert [oldest_share(n) for n in (0, 1, 2, 9, 10, 25, 500)] == [0, 0, 1, 1, 1, 2, 50]


@pytest.mark.postgres
def test_the_postgresql_claim_walks_the_priority_index() -> None:
    """No sort of the whole backlog at each claim: the priority order is an index scan."""
    with temp_schema() as url:
        store = PostgresStore(url)
        for first in range(0, 20_000, 5000):
            batch = [job(n, priority=n % 10, time=at(n % 60)) for n in range(first, first + 5000)]
            store.commit_events(batch, now=1.0)
        params = {
            "destination": "shop",
            "owner": "",
            "now": 2.0,
            "limit": 500,
            "oldest": 50,
            "lease_until": 3.0,
        }
        with psycopg.connect(url) as conn:
            conn.execute("ANALYZE job_state")
            plan = "\n".join(row[0] for row in conn.execute("EXPLAIN " + PQ["claim_batch"], params))
        store.close()
    assert "Index Scan using job_state_priority" in plan, plan
    assert "Index Scan using job_state_due" in plan, plan
