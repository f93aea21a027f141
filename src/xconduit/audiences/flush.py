"""Pending changes → delivery jobs (the request bodies X will get), when a flush is due.

A flush is due when `flush_users` users are pending, or `flush_interval` after the oldest
pending change. Each job is one request: a `Delete` operation then an `Update` operation (X
applies them in order), at most `MAX_OPERATIONS` operations and below X's 5,000,000-byte limit,
measured on the encoded users. The job keeps each user's key, so that when X accepts the request
the delivered members can follow.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import orjson

from xconduit.config import AudienceSettings
from xconduit.queue.audience_jobs import AudienceRecord, PendingChange, audience_destination
from xconduit.queue.audience_store import AudienceStore
from xconduit.queue.jobs import NewJob
from xconduit.xads import MAX_BYTES

BODY_BUDGET = MAX_BYTES - 10_000
"""Bytes of users per request: X's limit less room for the operations around them."""
READ_PAGE = 20_000


def is_due(store: AudienceStore, audience: AudienceSettings, *, now: float) -> bool:
    count, since = store.audience_pending(audience.name)
    if count == 0 or since is None:
        return False
    return count >= audience.flush_users or now >= since + float(audience.flush_interval)


@dataclass(frozen=True, kw_only=True)
class JobBody:
    """What an audience job carries: `[key, user object]` pairs to remove, then to add."""

    remove: list[tuple[str, bytes]]
    add: list[tuple[str, bytes]]

    def operations(self) -> list[dict[str, object]]:
        """X's operations: Delete first, then Update (each only when it has users)."""
        ops: list[dict[str, object]] = []
        for kind, users in (("Delete", self.remove), ("Update", self.add)):
            if users:
                parsed = [orjson.Fragment(user) for _, user in users]
                ops.append({"operation_type": kind, "params": {"users": parsed}})
        return ops

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "remove": [[k, orjson.Fragment(u)] for k, u in self.remove],
                "add": [[k, orjson.Fragment(u)] for k, u in self.add],
            }
        )

    @staticmethod
    def decode(payload: bytes) -> JobBody:
        data = orjson.loads(payload)
        return JobBody(
            remove=[(k, orjson.dumps(u)) for k, u in data["remove"]],
            add=[(k, orjson.dumps(u)) for k, u in data["add"]],
        )


def pack(changes: Sequence[PendingChange], *, budget: int = BODY_BUDGET) -> Iterator[JobBody]:
    """Group changes into job bodies whose users fit in `budget` bytes."""
    remove: list[tuple[str, bytes]] = []
    add: list[tuple[str, bytes]] = []
    size = 0
    for change in changes:
        extra = len(change.payload) + 1
        if size + extra > budget and (remove or add):
            yield JobBody(remove=remove, add=add)
            remove, add, size = [], [], 0
        (add if change.op == "add" else remove).append((change.user_key, change.payload))
        size += extra
    if remove or add:
        yield JobBody(remove=remove, add=add)


MOVED_TRIES = 5
"""Reads of a flush whose changes moved before it could write them, before it leaves the rest
to the next flush (under a storm of events for the same users)."""


def flush(
    store: AudienceStore,
    audience: AudienceSettings,
    record: AudienceRecord,
    *,
    now: float,
    budget: int = BODY_BUDGET,
) -> int:
    """Turn every pending change of the audience into jobs; how many jobs."""
    jobs = moved = 0
    while moved < MOVED_TRIES:
        changes = store.pending_audience_changes(audience.name, limit=READ_PAGE)
        if not changes:
            return jobs
        bodies = list(pack(changes, budget=budget))
        new = [
            NewJob(
                destination=audience_destination(audience.name),
                account_id=record.account_id,
                pixel_id=record.audience_id,
                message_id=f"flush-{uuid.uuid4()}",
                conversion_id=f"{len(b.add)} added, {len(b.remove)} removed",
                payload=b.encode(),
            )
            for b in bodies
        ]
        taken = [(c.user_key, c.version) for c in changes]
        made = store.audience_changes_to_jobs(audience.name, taken, new, now=now)
        if not made:
            moved += 1  # another process's flush, or an event, moved some: read them again
            continue
        jobs += made
        if len(changes) < READ_PAGE:
            return jobs
    return jobs  # still moving: the next flush goes on
