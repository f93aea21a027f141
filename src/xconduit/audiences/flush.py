"""Pending changes → delivery jobs (the request bodies X will get), when a flush is due.

A flush is due when `flush_users` users are pending, or `flush_interval` after the oldest
pending change. Each job is one request: a `Delete` operation then an `Update` operation (X
applies them in order), at most `MAX_OPERATIONS` operations and below X's 5,000,000-byte limit,
measured on the encoded users. The job keeps each user's key, so that when X accepts the request
the delivered members can follow.

X deletes a member by any key it was added with, so a removal sends only the identifier values
no remaining member holds (`shared_removals`): two members sharing a phone number must not both
go. A member whose every value is shared is removed from our members only (`unsent`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import orjson

from xconduit.config import AudienceSettings
from xconduit.outbox.audience_jobs import (
    AudienceRecord,
    PendingChange,
    audience_destination,
    user_pairs,
)
from xconduit.outbox.audience_store import AudienceStore
from xconduit.outbox.jobs import NewJob
from xconduit.xads import MAX_BYTES

BODY_BUDGET = MAX_BYTES - 10_000
"""Bytes of users per request: X's limit less room for the operations around them."""
READ_PAGE = 20_000
EMPTY_USER = b"{}"


def label(body: JobBody) -> str:
    """The job's label (its `conversion_id`, shown by `xconduit dlq`)."""
    text = f"{len(body.add)} added, {len(body.remove)} removed"
    if body.unsent:
        text += f", {len(body.unsent)} removed here only (identifiers shared)"
    return text


def is_due(store: AudienceStore, audience: AudienceSettings, *, now: float) -> bool:
    count, since = store.audience_pending(audience.name)
    if count == 0 or since is None:
        return False
    return count >= audience.flush_users or now >= since + float(audience.flush_interval)


@dataclass(frozen=True, kw_only=True)
class JobBody:
    """What an audience job carries: `[key, user object]` pairs to remove, then to add, and the
    keys of members removed here only (`unsent`: another member holds every identifier)."""

    remove: list[tuple[str, bytes]]
    add: list[tuple[str, bytes]]
    unsent: list[str] = field(default_factory=list)

    @property
    def users(self) -> int:
        """User objects sent to X (what its counts must equal)."""
        return len(self.remove) + len(self.add)

    def deleted_ids(self) -> list[tuple[str, str]]:
        """The `(key, value)` pairs the Delete operation sends."""
        return sorted({pair for _, user in self.remove for pair in user_pairs(user)})

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
                "unsent": self.unsent,
            }
        )

    @staticmethod
    def decode(payload: bytes) -> JobBody:
        data = orjson.loads(payload)
        return JobBody(
            remove=[(k, orjson.dumps(u)) for k, u in data["remove"]],
            add=[(k, orjson.dumps(u)) for k, u in data["add"]],
            unsent=list(data.get("unsent", [])),
        )


def shared_removals(
    store: AudienceStore, audience: str, changes: Sequence[PendingChange]
) -> list[PendingChange]:
    """Removals keep only the values no remaining member holds: X deletes every member that
    matches any key sent, so a phone number two members share would take both away. A removal
    left with nothing to send gets the user object `{}` (it is removed from our members only)."""
    removals = [c for c in changes if c.op == "remove"]
    pairs = sorted({p for c in removals for p in user_pairs(c.payload)})
    shared = store.shared_audience_ids(audience, pairs, excluded=[c.user_key for c in removals])
    if not shared:
        return list(changes)
    out = []
    for change in changes:
        if change.op == "remove":
            kept: dict[str, list[str]] = {}
            for key, values in orjson.loads(change.payload).items():
                left = [v for v in values if (key, v) not in shared]
                if left:
                    kept[key] = left
            change = replace(change, payload=orjson.dumps(kept))
        out.append(change)
    return out


def pack(changes: Sequence[PendingChange], *, budget: int = BODY_BUDGET) -> Iterator[JobBody]:
    """Group changes into job bodies whose users fit in `budget` bytes."""
    remove: list[tuple[str, bytes]] = []
    add: list[tuple[str, bytes]] = []
    unsent: list[str] = []
    size = 0
    for change in changes:
        extra = len(change.payload) + 1
        if size + extra > budget and (remove or add or unsent):
            yield JobBody(remove=remove, add=add, unsent=unsent)
            remove, add, unsent, size = [], [], [], 0
        if change.op == "remove" and change.payload == EMPTY_USER:
            unsent.append(change.user_key)
        else:
            (add if change.op == "add" else remove).append((change.user_key, change.payload))
        size += extra
    if remove or add or unsent:
        yield JobBody(remove=remove, add=add, unsent=unsent)


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
        bodies = list(pack(shared_removals(store, audience.name, changes), budget=budget))
        new = [
            NewJob(
                destination=audience_destination(audience.name),
                account_id=record.account_id,
                pixel_id=record.audience_id,
                message_id=f"flush-{uuid.uuid4()}",
                conversion_id=label(b),
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
