"""What the outbox keeps for custom audiences: their X ids, delivered members, pending changes.

An audience change says that one user enters (`add`) or exits (`remove`) one audience. Changes
wait in the outbox, one per user (the later change wins), until a flush turns them into delivery
jobs of the destination `audience:<name>`; those go through the same states, retries and dead
letters as conversions. When X accepts a job, its users become (or stop being) delivered
members: the membership the next snapshot is compared with. Only hashed identifiers are kept.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

AUDIENCE_DESTINATION_PREFIX = "audience:"
"""Delivery jobs of audience `vip` have the destination `audience:vip`."""

ChangeOp = Literal["add", "remove"]


_COUNTER = itertools.count()


def next_version() -> int:
    """A version for a pending change, new each time (also after the row was dropped and made
    again), so a flush never takes a change it did not read."""
    return time.time_ns() // 1000 * 1000 + next(_COUNTER) % 1000


def audience_destination(name: str) -> str:
    return f"{AUDIENCE_DESTINATION_PREFIX}{name}"


def is_audience_destination(destination: str) -> bool:
    return destination.startswith(AUDIENCE_DESTINATION_PREFIX)


@dataclass(frozen=True, kw_only=True, slots=True)
class AudienceChange:
    """One user entering or exiting one audience; `payload` is X's user object (hashed)."""

    audience: str
    user_key: str
    op: ChangeOp
    payload: bytes


@dataclass(frozen=True, kw_only=True, slots=True)
class PendingChange:
    """A change waiting for a flush. For a removal, `payload` is what the user was added with."""

    user_key: str
    op: ChangeOp
    payload: bytes
    version: int


@dataclass(frozen=True, kw_only=True, slots=True)
class AudienceRecord:
    """The X audience a configured audience is, once known, and its delivery figures."""

    name: str
    account_id: str
    audience_id: str
    x_name: str
    recorded_at: float
    members: int = 0
    """Users X accepted as added and not since removed."""
    last_flush_at: float | None = None
    """When X last accepted a request for this audience."""
    last_run_at: float | None = None
    """When a snapshot was last compared."""
    problem: str | None = None
    """Why the last snapshot was refused before anything was sent; None once one goes through."""


class ChangesMoved(Exception):
    """Pending changes moved between a flush's read and its write (see
    `audience_changes_to_jobs`); internal to the stores, outside the error tree on purpose."""


def user_pairs(user: bytes | str) -> set[tuple[str, str]]:
    """The `(key, value)` pairs of an X user object."""
    return {(k, v) for k, values in orjson.loads(user).items() for v in values}


def member_id_changes(
    audience: str,
    old: Mapping[str, bytes | str],
    added: Sequence[tuple[str, bytes]],
    removed: Sequence[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of the members' identifier index to delete and to insert when a job is
    delivered; `old` holds the stored user objects of the job's members that exist."""
    delete: set[tuple[str, str, str]] = set()
    insert: set[tuple[str, str, str]] = set()
    for key in removed:
        if key in old:
            delete |= {(key, k, v) for k, v in user_pairs(old[key])}
    for key, payload in added:
        before = old.get(key)
        if before is not None and user_pairs(before) == user_pairs(payload):
            continue
        if before is not None:
            delete |= {(key, k, v) for k, v in user_pairs(before)}
        insert |= {(key, k, v) for k, v in user_pairs(payload)}

    def rows(found: set[tuple[str, str, str]]) -> list[dict[str, Any]]:
        return [
            {"audience": audience, "user_key": u, "id_key": k, "id_value": v} for u, k, v in found
        ]

    return rows(delete - insert), rows(insert)
