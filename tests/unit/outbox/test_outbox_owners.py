"""Jobs belong to the destination that made them: the Store contract, on every store."""

from __future__ import annotations

import dataclasses

from tests.support.outbox_factories import job
from xconduit.outbox import IncomingEvent, JobStatus, Store
from xconduit.outbox.owners import foreign_active, foreign_line, split_owned
from xconduit.outbox.syncs import SyncStore

LEASE = 60.0
MINE = "a1b2c3d4e5f60718"
THEIRS = "ffeeddccbbaa9988"


def put(store: Store, message_id: str, *, owner: str, destination: str = "shop") -> None:
    new = dataclasses.replace(job(message_id, destination=destination), owner=owner)
    event = IncomingEvent(source="web", message_id=message_id, jobs=(new,))
    assert store.commit_events([event], now=100.0) == [True]


def test_a_claim_takes_only_its_owner_s_jobs_of_a_shared_name(store: Store) -> None:
    put(store, "mine", owner=MINE)
    put(store, "theirs", owner=THEIRS)
    put(store, "old", owner="")

    claimed = store.claim_batch("shop", limit=10, now=100.0, lease_seconds=LEASE, owner=MINE)

    assert [(j.message_id, j.owner) for j in claimed] == [("mine", MINE)]
    assert store.next_due_at("shop", owner=MINE) == 100.0 + LEASE  # its own, in flight
    assert store.next_due_at("shop", owner=THEIRS) == 100.0
    assert store.active_job_owners() == {("shop", MINE): 1, ("shop", THEIRS): 1, ("shop", ""): 1}


def test_untagged_jobs_are_adopted_only_with_the_same_account_and_pixel(store: Store) -> None:
    put(store, "old", owner="")
    other_pixel = dataclasses.replace(job("elsewhere"), pixel_id="zz99")
    store.commit_events([IncomingEvent(source="web", message_id="e", jobs=(other_pixel,))], now=1)
    put(store, "theirs", owner=THEIRS)

    adopted = store.adopt_jobs("shop", owner=MINE, account_id="18ce552mlaq", pixel_id="oka17")

    assert adopted == 1
    claimed = store.claim_batch("shop", limit=10, now=100.0, lease_seconds=LEASE, owner=MINE)
    assert [j.message_id for j in claimed] == ["old"]
    assert store.adopt_jobs("shop", owner=MINE, account_id="18ce552mlaq", pixel_id="oka17") == 0
    owners = store.job_owners()
    assert owners[("shop", THEIRS)] == {JobStatus.PENDING: 1}  # a tagged job is never moved
    assert owners[("shop", "")] == {JobStatus.PENDING: 1}  # another pixel's stays untagged


def test_counts_split_into_this_configuration_s_and_a_foreign_total(store: Store) -> None:
    put(store, "mine", owner=MINE)
    put(store, "theirs-1", owner=THEIRS)
    put(store, "theirs-2", owner=THEIRS, destination="crm")
    (done,) = store.claim_batch("crm", limit=1, now=100.0, lease_seconds=LEASE, owner=THEIRS)
    store.mark_delivered([done.id], now=101.0)

    def owns(destination: str, owner: str) -> bool:
        return (destination, owner) == ("shop", MINE)

    split = split_owned(store.job_owners(), owns)

    assert split.own == {"shop": {JobStatus.PENDING: 1}}
    assert split.foreign == 1  # the delivered one is history, not waiting
    assert foreign_active(store.active_job_owners(), owns) == 1
    assert foreign_line(1) == (
        "1 job in this store belongs to destinations not in this config (another "
        "configuration's, or a destination since removed or changed): never sent from here"
    )


def test_live_workers_can_be_asked_for_one_destination_key(store: Store) -> None:
    assert isinstance(store, SyncStore)
    store.heartbeat("w1", kind="serve", host="h", pid=1, now=100.0, owners=f"{THEIRS} 0000")
    store.heartbeat("w2", kind="worker", host="h", pid=2, now=100.0, owners="")

    assert store.live_workers(since=0.0) == 2
    assert store.live_workers(since=0.0, owner=MINE) == 0
    assert store.live_workers(since=0.0, owner=THEIRS) == 1
    store.heartbeat("w3", kind="serve", host="h", pid=3, now=100.0)  # an older process: no keys
    assert store.live_workers(since=0.0, owner=MINE) == 1
    reports = {r.id: r.owners for r in store.live_reports(since=0.0)}
    assert reports == {"w1": f"{THEIRS} 0000", "w2": "", "w3": None}
