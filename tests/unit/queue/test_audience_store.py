"""The audience part of both stores: coalescing, flush hand-over, in-order claims, members."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.pgtemp import temp_schema
from xconduit.queue.audience_jobs import AudienceChange, ChangeOp
from xconduit.queue.audience_store import AudienceStore
from xconduit.queue.jobs import NewJob
from xconduit.queue.memory import MemoryStore
from xconduit.queue.postgres import PostgresStore
from xconduit.queue.sqlite import SqliteStore


@pytest.fixture(params=["sqlite", "memory", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AudienceStore]:
    if request.param == "postgresql":
        with temp_schema() as url:
            opened: AudienceStore = PostgresStore(url)
            yield opened
            opened.close()
        return
    s: AudienceStore = (
        SqliteStore(tmp_path / "q.db") if request.param == "sqlite" else MemoryStore()
    )
    yield s
    s.close()


def change(user: str, op: ChangeOp) -> AudienceChange:
    return AudienceChange(
        audience="vip", user_key=user, op=op, payload=f'{{"email":["{user}"]}}'.encode()
    )


def pending(store: AudienceStore) -> dict[str, str]:
    return {c.user_key: c.op for c in store.pending_audience_changes("vip", limit=100)}


def job(n: int) -> NewJob:
    return NewJob(
        destination="audience:vip",
        account_id="acc",
        pixel_id="aud",
        message_id=f"flush-{n}",
        conversion_id="",
        payload=b"{}",
    )


def deliver(store: AudienceStore, *, added: list[str] = (), removed: list[str] = ()) -> None:  # type: ignore[assignment]
    store.audience_changes_to_jobs("vip", [], [job(0)], now=1.0)
    claimed = store.claim_audience_job("audience:vip", now=1.0, lease_seconds=60)
    assert claimed is not None
    store.audience_delivered(
        claimed.id,
        audience="vip",
        added=[(k, change(k, "add").payload) for k in added],
        removed=list(removed),
        now=1.0,
    )


def test_the_later_change_wins_and_an_add_then_remove_sends_nothing(store: AudienceStore) -> None:
    store.enqueue_audience_changes(
        [change("a", "add"), change("a", "remove"), change("b", "remove"), change("c", "add")],
        now=1.0,
    )
    store.enqueue_audience_changes([change("c", "add")], now=2.0)
    assert pending(store) == {"c": "add"}
    assert store.audience_pending("vip") == (1, 1.0)


def test_changes_are_weighed_against_the_delivered_members(store: AudienceStore) -> None:
    deliver(store, added=["m"])
    store.enqueue_audience_changes([change("m", "add")], now=2.0)
    assert pending(store) == {}
    store.enqueue_audience_changes([change("m", "add"), change("m", "remove")], now=2.0)
    assert pending(store) == {"m": "remove"}
    (removal,) = store.pending_audience_changes("vip", limit=10)
    assert removal.payload == change("m", "add").payload  # the identifiers it was added with


def test_jobs_are_claimed_one_at_a_time_in_order(store: AudienceStore) -> None:
    store.audience_changes_to_jobs("vip", [], [job(1), job(2)], now=1.0)
    first = store.claim_audience_job("audience:vip", now=1.0, lease_seconds=60)
    assert first is not None
    assert store.claim_audience_job("audience:vip", now=1.0, lease_seconds=60) is None
    store.schedule_retry([first.id], at=50.0, error="x", now=1.0)
    assert store.claim_audience_job("audience:vip", now=10.0, lease_seconds=60) is None
    again = store.claim_audience_job("audience:vip", now=50.0, lease_seconds=60)
    assert again is not None
    assert again.id == first.id


def jobs_of(store: AudienceStore) -> int:
    return store.active_audience_jobs("audience:vip")


def test_a_flush_whose_changes_moved_writes_nothing_and_a_fresh_read_goes_through(
    store: AudienceStore,
) -> None:
    store.enqueue_audience_changes([change("a", "add"), change("b", "add")], now=1.0)
    read = store.pending_audience_changes("vip", limit=10)
    store.enqueue_audience_changes([change("b", "remove")], now=2.0)  # b: add then remove
    store.enqueue_audience_changes([change("b", "add")], now=3.0)  # and back: a new version
    taken = [(c.user_key, c.version) for c in read]
    assert store.audience_changes_to_jobs("vip", taken, [job(1)], now=4.0) == 0
    assert (pending(store), jobs_of(store)) == ({"a": "add", "b": "add"}, 0)
    again = [(c.user_key, c.version) for c in store.pending_audience_changes("vip", limit=10)]
    assert store.audience_changes_to_jobs("vip", again, [job(2)], now=5.0) == 1
    assert (pending(store), jobs_of(store)) == ({}, 1)


def test_two_flushes_of_the_same_changes_enqueue_them_once(store: AudienceStore) -> None:
    store.enqueue_audience_changes([change("a", "add"), change("b", "remove")], now=1.0)
    first = [(c.user_key, c.version) for c in store.pending_audience_changes("vip", limit=10)]
    second = [(c.user_key, c.version) for c in store.pending_audience_changes("vip", limit=10)]
    assert store.audience_changes_to_jobs("vip", second, [job(1)], now=2.0) == 1
    assert store.audience_changes_to_jobs("vip", first, [job(2)], now=2.0) == 0
    assert (pending(store), jobs_of(store)) == ({}, 1)


def test_members_follow_delivered_jobs(store: AudienceStore) -> None:
    store.record_audience(name="vip", account_id="acc", audience_id="aud", x_name="x", now=1.0)
    deliver(store, added=["a", "b", "c"])
    deliver(store, removed=["b"])
    keys = [k for page in store.audience_member_keys("vip", page=1) for k in page]
    assert keys == ["a", "c"]
    record = store.audience_record("vip")
    assert record is not None
    assert record.members == 2
    found = store.suppressed_audience_members("vip", user_keys=["a"], hashes=["c"])
    assert sorted(found) == [("a", change("a", "add").payload), ("c", change("c", "add").payload)]


def test_a_snapshot_does_not_restart_the_wait_of_pending_changes(store: AudienceStore) -> None:
    # serve compares every `schedule`: if each comparison restarted the clock, a schedule
    # shorter than flush_interval would never let its changes be flushed.
    store.replace_audience_changes("vip", [("ann", "add", b'{"email":["a"]}')], now=100.0)
    store.replace_audience_changes(
        "vip", [("ann", "add", b'{"email":["a"]}'), ("bob", "add", b'{"email":["b"]}')], now=160.0
    )
    assert store.audience_pending("vip") == (2, 100.0)

    store.replace_audience_changes("vip", [], now=200.0)
    store.replace_audience_changes("vip", [("cy", "add", b'{"email":["c"]}')], now=300.0)
    assert store.audience_pending("vip") == (1, 300.0)
