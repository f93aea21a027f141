"""The rate ledger, run against every store (see conftest.store): what one process holds and
spends, every other process on the store sees."""

from __future__ import annotations

from tests.support.outbox_factories import event
from xconduit.delivery.shared_budget import SharedBudgets
from xconduit.outbox import Store

ACCOUNT = "18ce552mlaq"
WINDOW = 100.0


def budgets(store: Store, events: int = 10, requests: int = 100) -> SharedBudgets:
    return SharedBudgets(store, events=events, requests=requests, window=WINDOW)


def enqueue(store: Store, count: int) -> None:
    store.commit_events([event(f"m{i}") for i in range(count)], now=1.0)


def test_a_claim_takes_no_more_jobs_than_the_budget_allows(store: Store) -> None:
    enqueue(store, 25)
    book = budgets(store)

    jobs, hold, empty = book.claim("shop", account_id=ACCOUNT, limit=500, now=2.0, lease_seconds=60)
    again, _, empty_again = book.claim(
        "shop", account_id=ACCOUNT, limit=500, now=3.0, lease_seconds=60
    )

    assert (len(jobs), hold is not None, empty) == (10, True, False)
    assert (again, empty_again) == ([], True)  # held events count like sent ones


def test_a_send_fits_only_when_the_window_has_room_and_settles_a_window_later(
    store: Store,
) -> None:
    enqueue(store, 10)
    book = budgets(store)
    _, hold, _ = book.claim("shop", account_id=ACCOUNT, limit=10, now=2.0, lease_seconds=60)
    assert hold is not None

    sent, _ = book.spend(ACCOUNT, events=10, now=2.0, until=62.0, unhold={hold: 10})
    assert sent is not None
    assert book.spend(ACCOUNT, events=1, now=3.0, until=63.0, unhold={}) == (None, None)
    book.settle(sent, now=5.0)

    assert book.free_at(ACCOUNT, events=1, now=6.0) == 5.0 + WINDOW
    later, _ = book.spend(ACCOUNT, events=10, now=105.0, until=165.0, unhold={})
    assert later is not None


def test_holds_of_a_worker_that_died_lapse_with_its_lease(store: Store) -> None:
    enqueue(store, 20)
    book = budgets(store)
    book.claim("shop", account_id=ACCOUNT, limit=10, now=2.0, lease_seconds=30)  # never sent

    assert book.free_at(ACCOUNT, events=10, now=31.0) is None  # held till the lease ends
    assert book.free_at(ACCOUNT, events=10, now=33.0) == 33.0
    jobs, _, _ = book.claim("shop", account_id=ACCOUNT, limit=10, now=33.0, lease_seconds=30)
    assert len(jobs) == 10


def test_an_unsettled_send_counts_until_a_window_after_its_lease(store: Store) -> None:
    book = budgets(store)
    sent, _ = book.spend(ACCOUNT, events=10, now=0.0, until=30.0, unhold={})
    assert sent is not None  # its worker dies before X answers

    assert book.free_at(ACCOUNT, events=1, now=40.0) == 30.0 + WINDOW


def test_a_429_blocks_every_process_until_xs_reset(store: Store) -> None:
    budgets(store).block_until(ACCOUNT, 50.0, now=1.0)
    other = budgets(store)  # another process's view of the same store

    assert other.free_at(ACCOUNT, events=1, now=2.0) == 50.0
    assert other.spend(ACCOUNT, events=1, now=2.0, until=60.0, unhold={})[0] is None


def test_xs_headers_tighten_the_limit_and_cap_for_everyone(store: Store) -> None:
    budgets(store).observe(ACCOUNT, limit=6, remaining=2, reset=80.0, now=1.0)
    other = budgets(store)

    assert other.free_at(ACCOUNT, events=3, now=2.0) == 80.0  # capped at 2 until the reset
    first, _ = other.spend(ACCOUNT, events=2, now=2.0, until=60.0, unhold={})
    assert first is not None
    other.settle(first, now=3.0)
    assert other.free_at(ACCOUNT, events=5, now=81.0) == 3.0 + WINDOW  # limit 6 now, 2 used
