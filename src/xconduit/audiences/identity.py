"""Who a user is within an audience: the user key, and X's user object as stored (pure).

A snapshot row's key is the MD5 of its user object (the canonical JSON X receives), computed the
same way in DuckDB and here, so a user with the same identifiers is the same user run after run.
An event's key comes from its `userId` (else `anonymousId`), so `Audience Entered` and
`Audience Exited` of one person meet even when they carry different identifiers. MD5 is only a
key here (the identifiers in it are SHA-256 already), never a protection.
"""

from __future__ import annotations

import hashlib
import re

import orjson

from xconduit.normalize.audience import AudienceIdentifiers

_NAME_STAMP = r"\d{8}_\d{6}"


def user_object(identifiers: AudienceIdentifiers) -> bytes:
    """X's user object, compact JSON with keys in X's order: what is sent and stored."""
    return orjson.dumps(identifiers.payload())


def snapshot_key(user: bytes) -> str:
    """The key of a snapshot row (same as DuckDB's `md5(payload)`)."""
    return hashlib.md5(user, usedforsecurity=False).hexdigest()


def event_key(user_id: str | None, anonymous_id: str | None, user: bytes) -> str:
    """The key of an event's user: its userId, else its anonymousId, else its identifiers."""
    if user_id:
        return hashlib.md5(f"user:{user_id}".encode(), usedforsecurity=False).hexdigest()
    if anonymous_id:
        return hashlib.md5(f"anon:{anonymous_id}".encode(), usedforsecurity=False).hexdigest()
    return snapshot_key(user)


def x_audience_name(prefix: str, name: str, stamp: str) -> str:
    """`<prefix> <name> <YYYYMMDD_hhmmss>`: the name of an audience xconduit creates."""
    return f"{prefix} {name} {stamp}"


def is_our_audience(x_name: str, prefix: str, name: str) -> bool:
    """Whether `x_name` is one xconduit created for this audience (any time stamp)."""
    pattern = re.escape(f"{prefix} {name} ") + _NAME_STAMP
    return re.fullmatch(pattern, x_name) is not None
