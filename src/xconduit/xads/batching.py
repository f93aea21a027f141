"""Split audience-user operations into requests X accepts (pure).

X's limits per request: 2,500 operation objects and 5,000,000 bytes of body. Sizes are measured
on the exact bytes that will be sent (`encode`), so a chunk that passes here passes at X. One
operation whose users alone exceed the byte limit is split into several operations of the same
type and dates; one user object that cannot fit at all is a ValueError.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

MAX_OPERATIONS = 2_500
MAX_BYTES = 5_000_000
OPERATION_TYPES = frozenset({"Update", "Delete"})


def _default(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def encode(value: object) -> bytes:
    """Compact JSON, the bytes actually sent to X."""
    return orjson.dumps(value, default=_default)


@dataclass(frozen=True, kw_only=True)
class UsersChunk:
    """One request body: the encoded JSON array and how many user objects it holds."""

    body: bytes
    operations: int
    users: int


def _users(operation: Mapping[str, Any]) -> list[Any]:
    kind = operation.get("operation_type")
    if kind not in OPERATION_TYPES:
        raise ValueError(f"operation_type must be Update or Delete, not {kind!r}")
    params = operation.get("params")
    users = params.get("users") if isinstance(params, Mapping) else None
    if not isinstance(users, Sequence) or isinstance(users, str | bytes) or not users:
        raise ValueError("each operation needs params.users, a non-empty list of user objects")
    return list(users)


def _with_users(operation: Mapping[str, Any], users: list[Any]) -> dict[str, Any]:
    params = dict(operation["params"])
    params["users"] = users
    return {**operation, "params": params}


def _split_operation(operation: Mapping[str, Any], max_bytes: int) -> list[tuple[bytes, int]]:
    """Encoded operations (with their user count), each small enough for a body of its own."""
    users = _users(operation)
    whole = encode(operation)
    if len(whole) + 2 <= max_bytes:
        return [(whole, len(users))]
    # Overhead = the operation with an empty users list; each user adds its bytes plus a comma.
    overhead = len(encode(_with_users(operation, []))) + 2
    pieces: list[tuple[bytes, int]] = []
    current: list[Any] = []
    size = overhead
    for user in users:
        user_size = len(encode(user))
        if overhead + user_size > max_bytes:
            raise ValueError(f"one user object is larger than the {max_bytes}-byte request limit")
        if current and size + 1 + user_size > max_bytes:
            pieces.append((encode(_with_users(operation, current)), len(current)))
            current, size = [], overhead
        size += user_size + (1 if current else 0)
        current.append(user)
    pieces.append((encode(_with_users(operation, current)), len(current)))
    return pieces


def split_operations(
    operations: Sequence[Mapping[str, Any]],
    *,
    max_operations: int = MAX_OPERATIONS,
    max_bytes: int = MAX_BYTES,
) -> list[UsersChunk]:
    """Pack operations, in order, into as few request bodies as the limits allow."""
    if not operations:
        raise ValueError("audience_users needs at least one operation")
    chunks: list[UsersChunk] = []
    parts: list[bytes] = []
    users = 0

    def close() -> None:
        nonlocal parts, users
        if parts:
            body = b"[" + b",".join(parts) + b"]"
            chunks.append(UsersChunk(body=body, operations=len(parts), users=users))
        parts, users = [], 0

    size = 2  # the brackets
    for operation in operations:
        for encoded, count in _split_operation(operation, max_bytes):
            extra = len(encoded) + (1 if parts else 0)
            if len(parts) >= max_operations or size + extra > max_bytes:
                close()
                size, extra = 2, len(encoded)
            parts.append(encoded)
            users += count
            size += extra
    close()
    return chunks
