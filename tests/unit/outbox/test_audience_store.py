"""The audience part of both stores: coalescing, flush hand-over, in-order claims, members."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stores import opened_store
from xconduit.outbox.audience_jobs import AudienceChange, ChangeOp
from xconduit.outbox.audience_store import AudienceStore
from xconduit.outbox.jobs import NewJob


@pytest.fixture(params=["sqlite", "memory", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AudienceStore]:
    with opened_store(request.param, tmp_path) as opened:
        yield opened


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


def deliver_users(
    store: AudienceStore,
    users: dict[str, bytes],
    *,
    removed: list[str] = (),  # type: ignore[assignment]
    deleted_ids: list[tuple[str, str]] = (),  # type: ignore[assignment]
    now: float = 1.0,
) -> None:
    store.audience_changes_to_jobs("vip", [], [job(0)], now=now)
    claimed = store.claim_audience_job("audience:vip", now=now, lease_seconds=60)
    assert claimed is not None
    store.audience_delivered(
        claimed.id,
        audience="vip",
        added=list(users.items()),
        removed=list(removed),
        now=now,
        deleted_ids=list(deleted_ids),
    )


FAMILY = {
    "ann": b'{"email":["a"],"phone_number":["p"]}',
    "bob": b'{"email":["b"],"phone_number":["p"]}',
    "cy": b'{"email":["c"]}',
}


def test_shared_identifiers_are_those_another_member_holds(store: AudienceStore) -> None:
    deliver_users(store, FAMILY)
    pairs = [("email", "a"), ("phone_number", "p")]
    assert store.shared_audience_ids("vip", pairs, excluded=["ann"]) == {("phone_number", "p")}
    assert store.shared_audience_ids("vip", pairs, excluded=["ann", "bob"]) == set()
    deliver_users(store, {}, removed=["bob"])
    assert store.shared_audience_ids("vip", pairs, excluded=["ann"]) == set()
    # A member sent again with other identifiers holds only those.
    deliver_users(store, {"ann": b'{"email":["a2"]}'})
    assert store.shared_audience_ids("vip", pairs, excluded=[]) == set()
    assert store.shared_audience_ids("vip", [("email", "a2")], excluded=[]) == {("email", "a2")}


def test_members_are_queued_again_when_last_sent_long_ago_or_hit_by_a_delete(
    store: AudienceStore,
) -> None:
    deliver_users(store, {"ann": FAMILY["ann"], "cy": FAMILY["cy"]}, now=100.0)
    deliver_users(store, {"bob": FAMILY["bob"]}, now=200.0)
    assert store.queue_audience_refresh("vip", before=100.0, now=300.0) == 0
    assert store.queue_audience_refresh("vip", before=150.0, now=300.0) == 2
    assert pending(store) == {"ann": "add", "cy": "add"}
    (again,) = [c for c in store.pending_audience_changes("vip", limit=10) if c.user_key == "cy"]
    assert again.payload == FAMILY["cy"]
    assert store.queue_audience_refresh("vip", before=150.0, now=300.0) == 0  # waiting already

    # A Delete that sent a value bob holds took bob away at X: he is sent again.
    deliver_users(store, {}, removed=["ann"], deleted_ids=[("phone_number", "p")], now=400.0)
    assert store.queue_audience_refresh("vip", before=0.0, now=500.0) == 1
    assert pending(store)["bob"] == "add"
    assert store.audience_member_count("vip") == 2


def test_an_audience_problem_is_kept_until_cleared(store: AudienceStore) -> None:
    store.record_audience(name="vip", account_id="acc", audience_id="aud", x_name="x", now=1.0)
    store.note_audience_problem("vip", "the snapshot would remove 9 of the 10 members")
    record = store.audience_record("vip")
    assert record is not None
    assert record.problem == "the snapshot would remove 9 of the 10 members"
    store.note_audience_problem("vip", None)
    assert [r.problem for r in store.audience_records()] == [None]


def test_the_payloads_of_waiting_jobs_are_read(store: AudienceStore) -> None:
    store.audience_changes_to_jobs("vip", [], [job(1), job(2)], now=1.0)
    assert store.active_audience_payloads("audience:vip") == [b"{}", b"{}"]
    claimed = store.claim_audience_job("audience:vip", now=1.0, lease_seconds=60)
    assert claimed is not None
    store.dead_letter([(claimed.id, "gone")], now=2.0)
    assert store.active_audience_payloads("audience:vip") == [b"{}"]


def test_a_moved_audience_takes_its_jobs_not_delivered_and_loses_its_problem(
    store: AudienceStore,
) -> None:
    store.record_audience(name="vip", account_id="acc", audience_id="aud", x_name="x 1", now=1.0)
    store.audience_changes_to_jobs("vip", [], [job(1), job(2), job(3)], now=1.0)
    delivered = store.claim_audience_job("audience:vip", now=1.0, lease_seconds=60)
    assert delivered is not None
    store.audience_delivered(delivered.id, audience="vip", added=[], removed=[], now=2.0)
    dead = store.claim_audience_job("audience:vip", now=2.0, lease_seconds=60)
    assert dead is not None
    store.dead_letter([(dead.id, "NOT_FOUND")], now=3.0)
    store.note_audience_problem("vip", "X does not know custom audience aud any more")

    moved = store.move_audience("vip", audience_id="new", x_name="x 2", now=4.0)

    assert (moved.audience_id, moved.x_name, moved.problem) == ("new", "x 2", None)
    assert store.audience_record("vip") == moved
    waiting = store.claim_audience_job("audience:vip", now=5.0, lease_seconds=60)
    assert waiting is not None
    assert waiting.pixel_id == "new"
    (dead_job,) = store.list_dead(destination="audience:vip")  # type: ignore[attr-defined]
    assert dead_job.pixel_id == "new"  # a replay goes to the audience X knows


def test_the_breakdown_counts_members_per_identifier_and_pending_per_operation(
    store: AudienceStore,
) -> None:
    from xconduit.outbox.audience_breakdown import AudienceBreakdowns

    assert isinstance(store, AudienceBreakdowns)
    assert store.audience_breakdown("vip").members_by_identifier == {}
    store.audience_changes_to_jobs("vip", [], [job(0)], now=1.0)
    claimed = store.claim_audience_job("audience:vip", now=1.0, lease_seconds=60)
    assert claimed is not None
    both = b'{"email":["e1"],"phone_number":["p1"]}'
    store.audience_delivered(
        claimed.id,
        audience="vip",
        added=[("a", both), ("b", b'{"email":["e2"]}'), ("c", b'{"device_id":["d3"]}')],
        removed=[],
        now=1.0,
    )
    store.enqueue_audience_changes(
        [change("a", "remove"), change("x", "add"), change("y", "add")], now=2.0
    )
    breakdown = store.audience_breakdown("vip")
    assert breakdown.members_by_identifier == {"email": 2, "phone_number": 1, "device_id": 1}
    assert (breakdown.pending_adds, breakdown.pending_removes) == (2, 1)
    assert store.audience_breakdown("other").pending_adds == 0
