"""The Store contract, run against every implementation (see conftest.store)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from tests.support.outbox_factories import event
from xconduit.outbox import DeliveryJob, IncomingEvent, JobStatus, Store

LEASE = 60.0


def enqueue(store: Store, count: int, *, now: float = 100.0, destination: str = "shop") -> None:
    events = [event(f"m{destination}{i}", destinations=(destination,)) for i in range(count)]
    assert store.commit_events(events, now=now) == [True] * count


def status_of(store: Store, destination: str = "shop") -> dict[JobStatus, int]:
    return store.counts().get(destination, {})


def claim(
    store: Store, *, now: float = 100.0, limit: int = 500, dest: str = "shop"
) -> list[DeliveryJob]:
    return store.claim_batch(dest, limit=limit, now=now, lease_seconds=LEASE)


# --- commit and dedup -------------------------------------------------------------------------


def test_commit_enqueues_one_pending_job_per_destination(store: Store) -> None:
    accepted = store.commit_events([event("a", destinations=("shop", "app"))], now=10.0)

    assert accepted == [True]
    assert store.counts() == {"shop": {JobStatus.PENDING: 1}, "app": {JobStatus.PENDING: 1}}
    (job,) = claim(store, now=10.0)
    assert (job.message_id, job.conversion_id, job.created_at) == ("a", "order-a", 10.0)
    assert job.payload == b'{"conversion_id":"order-a"}'


def test_duplicate_message_ids_are_refused_and_not_enqueued(store: Store) -> None:
    first = store.commit_events([event("a"), event("b"), event("a")], now=1.0)
    again = store.commit_events([event("b"), event("c")], now=2.0)

    assert first == [True, True, False]
    assert again == [False, True]
    assert sorted(job.message_id for job in claim(store)) == ["a", "b", "c"]


def test_dedup_is_per_source(store: Store) -> None:
    accepted = store.commit_events([event("a", source="web"), event("a", source="ios")], now=1.0)

    assert accepted == [True, True]
    assert status_of(store) == {JobStatus.PENDING: 2}


def test_event_without_jobs_is_remembered_for_dedup(store: Store) -> None:
    filtered = IncomingEvent(source="website", message_id="a", jobs=())

    assert store.commit_events([filtered], now=1.0) == [True]
    assert store.commit_events([event("a")], now=2.0) == [False]
    assert store.counts() == {}


def test_dedup_window_ends_with_purge_dedup(store: Store) -> None:
    store.commit_events([event("old")], now=1_000.0)
    store.commit_events([event("new")], now=90_000.0)

    assert store.purge_dedup(older_than=5_000.0) == 1
    assert store.commit_events([event("old"), event("new")], now=90_001.0) == [True, False]


def test_commit_of_nothing_is_nothing(store: Store) -> None:
    assert store.commit_events([], now=1.0) == []


# --- claims -----------------------------------------------------------------------------------


def test_claim_takes_oldest_first_up_to_the_limit(store: Store) -> None:
    store.commit_events([event("old")], now=1.0)
    store.commit_events([event("mid")], now=2.0)
    store.commit_events([event("new")], now=3.0)

    first = claim(store, now=10.0, limit=2)
    second = claim(store, now=10.0, limit=2)

    assert [job.message_id for job in first] == ["old", "mid"]
    assert [job.message_id for job in second] == ["new"]
    assert claim(store, now=10.0) == []


def test_claim_marks_in_flight_with_a_lease_and_counts_the_attempt(store: Store) -> None:
    enqueue(store, 1, now=5.0)

    (job,) = claim(store, now=7.0)

    assert job.status is JobStatus.IN_FLIGHT
    assert job.attempts == 1
    assert job.lease_until == job.next_attempt_at == 7.0 + LEASE
    assert status_of(store) == {JobStatus.IN_FLIGHT: 1}


def test_claim_is_per_destination(store: Store) -> None:
    enqueue(store, 2, destination="shop")
    enqueue(store, 3, destination="app")

    assert {job.destination for job in claim(store, dest="app")} == {"app"}
    assert len(claim(store, dest="shop")) == 2
    assert claim(store, dest="nowhere") == []


def test_claim_with_limit_zero_takes_nothing(store: Store) -> None:
    enqueue(store, 1)
    assert claim(store, limit=0) == []
    assert status_of(store) == {JobStatus.PENDING: 1}


def test_claim_does_not_take_jobs_before_they_are_created(store: Store) -> None:
    enqueue(store, 1, now=100.0)
    assert claim(store, now=99.0) == []


# --- acks -------------------------------------------------------------------------------------


def test_delivered_jobs_are_done_for_good(store: Store) -> None:
    enqueue(store, 3)
    jobs = claim(store)

    assert store.mark_delivered([job.id for job in jobs[:2]], now=120.0) == 2

    assert status_of(store) == {JobStatus.DELIVERED: 2, JobStatus.IN_FLIGHT: 1}
    (left,) = claim(store, now=10_000.0)  # only the unacked one comes back, lease expired
    assert (left.id, left.attempts) == (jobs[2].id, 2)


def test_retry_waits_until_its_time_then_counts_another_attempt(store: Store) -> None:
    enqueue(store, 1)
    (job,) = claim(store, now=100.0)

    assert store.schedule_retry([job.id], at=200.0, error="503 over capacity", now=101.0) == 1
    assert status_of(store) == {JobStatus.RETRY_SCHEDULED: 1}
    assert store.next_due_at("shop") == 200.0
    assert claim(store, now=199.9) == []

    (again,) = claim(store, now=200.0)
    assert (again.id, again.attempts, again.last_error) == (job.id, 2, "503 over capacity")


def test_dead_letters_keep_their_own_reasons(store: Store) -> None:
    enqueue(store, 3)
    a, b, c = claim(store)

    moved = store.dead_letter(
        [(a.id, "214: invalid email"), (b.id, "retry window exhausted")], now=1.0
    )

    assert moved == 2
    dead = store.list_dead()
    assert [(job.id, job.status, job.last_error) for job in dead] == [
        (a.id, JobStatus.DEAD, "214: invalid email"),
        (b.id, JobStatus.DEAD, "retry window exhausted"),
    ]
    assert store.mark_delivered([c.id], now=2.0) == 1
    assert claim(store, now=1e9) == []
    assert store.destinations() == []


def test_release_gives_the_job_back_without_counting_the_attempt(store: Store) -> None:
    enqueue(store, 1)
    (job,) = claim(store, now=100.0)

    assert store.release([job.id], now=101.0) == 1

    assert status_of(store) == {JobStatus.PENDING: 1}
    (again,) = claim(store, now=101.0)
    assert again.attempts == 1


Ack = Callable[[Store, int], int]
ACKS: dict[str, Ack] = {
    "mark_delivered": lambda s, i: s.mark_delivered([i], now=500.0),
    "schedule_retry": lambda s, i: s.schedule_retry([i], at=600.0, error="late", now=500.0),
    "dead_letter": lambda s, i: s.dead_letter([(i, "late")], now=500.0),
    "release": lambda s, i: s.release([i], now=500.0),
}


def _into(store: Store, state: JobStatus) -> int:
    """Put the only job of `store` in `state`; its id."""
    enqueue(store, 1)
    (job,) = claim(store)
    if state is JobStatus.PENDING:
        store.release([job.id], now=101.0)
    elif state is JobStatus.DELIVERED:
        store.mark_delivered([job.id], now=101.0)
    elif state is JobStatus.RETRY_SCHEDULED:
        store.schedule_retry([job.id], at=10_000.0, error="503", now=101.0)
    elif state is JobStatus.DEAD:
        store.dead_letter([(job.id, "400")], now=101.0)
    return job.id


@pytest.mark.parametrize("ack", ACKS)
@pytest.mark.parametrize(
    "state",
    [JobStatus.PENDING, JobStatus.DELIVERED, JobStatus.RETRY_SCHEDULED, JobStatus.DEAD],
)
def test_only_in_flight_jobs_can_be_acked(store: Store, ack: str, state: JobStatus) -> None:
    job_id = _into(store, state)
    before = store.counts()

    assert ACKS[ack](store, job_id) == 0
    assert store.counts() == before


@pytest.mark.parametrize("ack", ACKS)
def test_acks_of_unknown_ids_change_nothing(store: Store, ack: str) -> None:
    enqueue(store, 1)
    claim(store)
    assert ACKS[ack](store, 987654) == 0
    assert status_of(store) == {JobStatus.IN_FLIGHT: 1}


# --- leases and crash recovery ----------------------------------------------------------------


def test_an_expired_lease_makes_the_job_due_again(store: Store) -> None:
    enqueue(store, 1)
    (job,) = claim(store, now=100.0)  # the worker then dies without acking

    assert claim(store, now=100.0 + LEASE - 0.1) == []
    (again,) = claim(store, now=100.0 + LEASE)

    assert (again.id, again.attempts, again.status) == (job.id, 2, JobStatus.IN_FLIGHT)


def test_a_late_ack_wins_while_the_job_is_still_in_flight(store: Store) -> None:
    """First ack wins: worker A's lease expired and B re-claimed the job; A's late success
    still marks it delivered (it was), and B's ack afterwards is ignored."""
    enqueue(store, 1)
    (job,) = claim(store, now=100.0)
    claim(store, now=100.0 + LEASE)  # worker B

    assert store.mark_delivered([job.id], now=170.0) == 1  # worker A, late
    assert store.schedule_retry([job.id], at=999.0, error="timeout", now=171.0) == 0  # worker B
    assert status_of(store) == {JobStatus.DELIVERED: 1}


# --- reading ----------------------------------------------------------------------------------


def test_next_due_at_and_destinations_follow_active_work(store: Store) -> None:
    assert store.next_due_at("shop") is None
    assert store.destinations() == []

    enqueue(store, 1, now=100.0, destination="shop")
    enqueue(store, 1, now=150.0, destination="app")
    assert store.next_due_at("shop") == 100.0
    assert store.destinations() == ["app", "shop"]

    (job,) = claim(store, now=160.0)
    assert store.next_due_at("shop") == 160.0 + LEASE  # in flight: due again if never acked
    store.mark_delivered([job.id], now=161.0)

    assert store.next_due_at("shop") is None
    assert store.destinations() == ["app"]


def test_counts_are_per_destination_and_state(store: Store) -> None:
    enqueue(store, 4, destination="shop")
    enqueue(store, 1, destination="app")
    a, b, c = claim(store, limit=3)
    store.mark_delivered([a.id], now=101.0)
    store.schedule_retry([b.id], at=300.0, error="503", now=101.0)
    store.dead_letter([(c.id, "400")], now=101.0)

    assert store.counts() == {
        "shop": {
            JobStatus.PENDING: 1,
            JobStatus.DELIVERED: 1,
            JobStatus.RETRY_SCHEDULED: 1,
            JobStatus.DEAD: 1,
        },
        "app": {JobStatus.PENDING: 1},
    }


# --- dead letters and retention ---------------------------------------------------------------


def _dead_jobs(store: Store) -> tuple[list[DeliveryJob], list[DeliveryJob]]:
    enqueue(store, 2, destination="shop")
    enqueue(store, 2, destination="app")
    shop = claim(store, dest="shop")
    app = claim(store, dest="app")
    store.dead_letter([(job.id, "400") for job in shop + app], now=101.0)
    return shop, app


def test_list_dead_filters_by_destination_and_limits(store: Store) -> None:
    shop, app = _dead_jobs(store)

    assert [job.id for job in store.list_dead()] == [job.id for job in shop + app]
    assert [job.id for job in store.list_dead(destination="app")] == [job.id for job in app]
    assert len(store.list_dead(limit=3)) == 3


@pytest.mark.parametrize(
    ("pick", "expected"),
    [
        ("ids", 1),
        ("destination", 2),
        ("all", 4),
        ("ids of another destination", 0),
    ],
)
def test_replay_dead_makes_dead_letters_pending_again(
    store: Store, pick: str, expected: int
) -> None:
    shop, _ = _dead_jobs(store)
    choices: dict[str, dict[str, object]] = {
        "ids": {"ids": [shop[0].id]},
        "destination": {"destination": "app"},
        "all": {},
        "ids of another destination": {"ids": [shop[0].id], "destination": "app"},
    }
    kwargs = choices[pick]

    assert store.replay_dead(**kwargs, now=500.0) == expected  # type: ignore[arg-type]

    replayed = claim(store, dest="shop", now=500.0) + claim(store, dest="app", now=500.0)
    assert len(replayed) == expected
    assert all(job.attempts == 1 for job in replayed)  # counted from zero again
    assert all(job.created_at == 500.0 for job in replayed)  # a new retry window starts
    assert len(store.list_dead()) == 4 - expected


def test_replay_ignores_jobs_that_are_not_dead(store: Store) -> None:
    enqueue(store, 1)
    (job,) = claim(store)
    assert store.replay_dead(ids=[job.id], now=200.0) == 0
    assert status_of(store) == {JobStatus.IN_FLIGHT: 1}


@pytest.mark.parametrize(
    ("pick", "expected"),
    [("ids", 1), ("destination", 2), ("all", 4)],
)
def test_purge_dead_deletes_dead_letters(store: Store, pick: str, expected: int) -> None:
    shop, _ = _dead_jobs(store)
    enqueue(store, 1, destination="other")
    choices: dict[str, dict[str, object]] = {
        "ids": {"ids": [shop[1].id]},
        "destination": {"destination": "shop"},
        "all": {},
    }
    kwargs = choices[pick]

    assert store.purge_dead(**kwargs) == expected  # type: ignore[arg-type]

    assert len(store.list_dead()) == 4 - expected
    assert status_of(store, "other") == {JobStatus.PENDING: 1}


def test_purge_delivered_keeps_recent_and_undelivered_jobs(store: Store) -> None:
    enqueue(store, 3)
    a, b, _ = claim(store)
    store.mark_delivered([a.id], now=1_000.0)
    store.mark_delivered([b.id], now=2_000.0)

    assert store.purge_delivered(older_than=1_500.0) == 1
    assert status_of(store) == {JobStatus.DELIVERED: 1, JobStatus.IN_FLIGHT: 1}


# --- concurrency ------------------------------------------------------------------------------


def test_threads_claiming_one_destination_never_share_a_job(store: Store) -> None:
    enqueue(store, 600)
    claimed: list[list[int]] = [[] for _ in range(4)]

    def worker(mine: list[int]) -> None:
        while batch := store.claim_batch("shop", limit=7, now=100.0, lease_seconds=LEASE):
            mine.extend(job.id for job in batch)

    threads = [threading.Thread(target=worker, args=(mine,)) for mine in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    every = [job_id for mine in claimed for job_id in mine]
    assert len(every) == len(set(every)) == 600


def test_ids_with_nul_and_backslashes_round_trip_and_stay_distinct(store: Store) -> None:
    # PostgreSQL text cannot hold NUL; a client may still send it in a messageId or order id.
    ids = ["a\x00b", "a\\0b", "a\\\\0b", "a\\"]
    accepted = store.commit_events([event(i) for i in ids], now=1.0)
    again = store.commit_events([event(i) for i in ids], now=2.0)

    assert (accepted, again) == ([True] * 4, [False] * 4)
    jobs = claim(store, now=2.0)
    assert sorted(job.message_id for job in jobs) == sorted(ids)
    assert sorted(job.conversion_id for job in jobs) == sorted(f"order-{i}" for i in ids)
    store.dead_letter([(jobs[0].id, "bad\x00reason")], now=3.0)
    assert [job.last_error for job in store.list_dead()] == ["bad\x00reason"]
