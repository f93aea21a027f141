"""Custom audience user operations: validation (pure) and membership kept as hashed values.

X's rules (docs/reference/sandbox.md): the body is a JSON array of `{"operation_type": "Update"|
"Delete", "params": {"users": [...], "effective_at"?, "expires_at"?}}`, at most 2,500 operations and
5,000,000 bytes; counts are per user object; a Delete matches a member on any key it was added with;
a member expires at `expires_at`, by default 13 months after the request that sent it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from xconduit.sandbox.envelope import ApiError

MAX_OPERATIONS = 2500
MAX_BODY_BYTES = 5_000_000
USER_KEYS = frozenset(
    {"email", "phone_number", "handle", "twitter_id", "device_id", "partner_user_id"}
)
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True, kw_only=True)
class Operation:
    """One validated operation: `update` is False for Delete; users are key -> values."""

    update: bool
    users: tuple[dict[str, tuple[str, ...]], ...]
    expires_at: float | None = None
    """`params.expires_at` (epoch seconds); None: 13 months after the request."""


@dataclass(frozen=True, kw_only=True)
class OperationError:
    index: int
    error: ApiError

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, **self.error.as_json()}


def _invalid(message: str, parameter: str) -> ApiError:
    return ApiError(status=400, code="INVALID_PARAMETER", message=message, parameter=parameter)


def check_size(body_bytes: int) -> ApiError | None:
    if body_bytes > MAX_BODY_BYTES:
        return _invalid(
            f"Request body of {body_bytes} bytes exceeds the maximum of {MAX_BODY_BYTES} bytes",
            "body",
        )
    return None


def validate_operations(
    body: Any,
) -> tuple[list[ApiError], list[OperationError], list[Operation]]:
    """(request errors, per-operation errors, operations); both error lists empty means valid."""
    if not isinstance(body, list) or not body:
        return [_invalid("The body must be a non-empty JSON array of operations", "body")], [], []
    if len(body) > MAX_OPERATIONS:
        message = f"Maximum number of operations is {MAX_OPERATIONS}, got {len(body)}"
        return [_invalid(message, "operation_type")], [], []
    op_errors: list[OperationError] = []
    operations: list[Operation] = []
    for index, raw in enumerate(body):
        problems, operation = _check_operation(raw)
        op_errors.extend(OperationError(index=index, error=p) for p in problems)
        if operation is not None:
            operations.append(operation)
    return [], op_errors, operations


def _check_operation(raw: Any) -> tuple[list[ApiError], Operation | None]:
    if not isinstance(raw, dict):
        return [_invalid("An operation must be a JSON object", "operation_type")], None
    kind = raw.get("operation_type")
    problems: list[ApiError] = []
    if kind not in ("Update", "Delete"):
        problems.append(
            _invalid(f"operation_type ({kind}) must be one of Update, Delete", "operation_type")
        )
    params = raw.get("params")
    if not isinstance(params, dict):
        problems.append(
            ApiError(
                status=400,
                code="MISSING_PARAMETER",
                message='"params" is missing',
                parameter="params",
            )
        )
        return problems, None
    problems += _check_times(params)
    users, user_problems = _check_users(params.get("users"))
    problems += user_problems
    if problems:
        return problems, None
    expires = _parse_time(params.get("expires_at"))
    return [], Operation(
        update=kind == "Update",
        users=users,
        expires_at=None if expires is None else expires.timestamp(),
    )


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not _ISO.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _check_times(params: Mapping[str, Any]) -> list[ApiError]:
    problems: list[ApiError] = []
    parsed: dict[str, datetime] = {}
    for name in ("effective_at", "expires_at"):
        if name in params:
            when = _parse_time(params[name])
            if when is None:
                problems.append(
                    _invalid(f"{name} ({params[name]}) is not an ISO 8601 timestamp", name)
                )
            else:
                parsed[name] = when
    if len(parsed) == 2 and parsed["expires_at"] <= parsed["effective_at"]:
        problems.append(_invalid("expires_at must be after effective_at", "expires_at"))
    return problems


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _check_users(raw: Any) -> tuple[tuple[dict[str, tuple[str, ...]], ...], list[ApiError]]:
    if not isinstance(raw, list) or not raw:
        return (), [
            ApiError(
                status=400,
                code="MISSING_PARAMETER",
                message='"users" is missing or empty',
                parameter="users",
            )
        ]
    users: list[dict[str, tuple[str, ...]]] = []
    for user in raw:
        if not isinstance(user, dict) or not user:
            return (), [_invalid("Each user must be a non-empty JSON object", "users")]
        clean: dict[str, tuple[str, ...]] = {}
        for key, values in user.items():
            if key not in USER_KEYS:
                return (), [_invalid(f"{key} is not a user identifier type", "users")]
            if (
                not isinstance(values, list)
                or not values
                or not all(isinstance(v, str) and v for v in values)
            ):
                return (), [_invalid(f"{key} must be a non-empty array of strings", "users")]
            # X: every key but partner_user_id "must be normalised and SHA-256 hashed"
            # (docs/reference/sandbox.md). X cannot tell raw values from digests it fails to match;
            # the sandbox refuses them, so raw identifiers are caught in testing and never shown.
            if key != "partner_user_id" and not all(_SHA256_HEX.fullmatch(v) for v in values):
                message = f"{key}: a value is not a SHA-256 hash (64 lowercase hex characters)"
                return (), [_invalid(message, "users")]
            clean[key] = tuple(values)
        users.append(clean)
    return tuple(users), []


EXPIRY_MONTHS = 13
"""X keeps a member this many months after the request that sent it, unless `expires_at` says."""


def months_later(epoch: float, months: int) -> float:
    """The same day and time `months` calendar months later (the month's last day if shorter)."""
    when = datetime.fromtimestamp(epoch, UTC)
    year, month = divmod(when.month - 1 + months, 12)
    year += when.year
    month += 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day).timestamp()


class Membership:
    """Current members of one audience: each member is the set of (key, value) it was sent with
    and when X forgets it.

    An `Update` user with exactly a member's identifiers refreshes that member (its expiry);
    any other is a member of its own, even when it shares a value with one (X documents no
    merging). A `Delete` user removes every member that shares any (key, value) with it.
    An index from (key, value) to members makes each user operation cost O(its identifiers).
    """

    def __init__(self) -> None:
        self._members: dict[int, frozenset[tuple[str, str]]] = {}
        self._expires: dict[int, float] = {}
        self._by_pairs: dict[frozenset[tuple[str, str]], int] = {}
        self._index: dict[tuple[str, str], set[int]] = {}
        self._next = 0

    def apply(self, operations: Iterable[Operation], *, now: float = 0.0) -> int:
        """Apply in order at `now`; returns the number of user objects processed."""
        self.expire(now)
        processed = 0
        for op in operations:
            expires = op.expires_at if op.expires_at is not None else None
            for user in op.users:
                pairs = frozenset((k, v) for k, values in user.items() for v in values)
                if op.update:
                    until = expires if expires is not None else months_later(now, EXPIRY_MONTHS)
                    same = self._by_pairs.get(pairs)
                    if same is None:
                        self._store(pairs, until)
                    else:
                        self._expires[same] = until
                else:
                    for member_id in {m for p in pairs for m in self._index.get(p, ())}:
                        self._drop(member_id)
                processed += 1
        return processed

    def expire(self, now: float) -> None:
        """Forget the members whose time is up."""
        for member_id in [m for m, until in self._expires.items() if until <= now]:
            self._drop(member_id)

    def _store(self, pairs: frozenset[tuple[str, str]], until: float) -> None:
        member_id = self._next
        self._next += 1
        self._members[member_id] = pairs
        self._expires[member_id] = until
        self._by_pairs[pairs] = member_id
        for pair in pairs:
            self._index.setdefault(pair, set()).add(member_id)

    def _drop(self, member_id: int) -> None:
        pairs = self._members.pop(member_id)
        del self._expires[member_id]
        del self._by_pairs[pairs]
        for pair in pairs:
            ids = self._index[pair]
            ids.discard(member_id)
            if not ids:
                del self._index[pair]

    def __len__(self) -> int:
        return len(self._members)

    def as_json(self) -> list[dict[str, list[str]]]:
        out = []
        for member in self._members.values():
            user: dict[str, list[str]] = {}
            for key, value in sorted(member):
                user.setdefault(key, []).append(value)
            out.append(user)
        return out
