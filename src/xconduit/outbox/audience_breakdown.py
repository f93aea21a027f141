"""An audience's members per identifier type and its pending adds and removes, for the
dashboard's audiences page. Mixins of the three stores (read-only; their `_read`)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from xconduit.outbox.audience_jobs import user_pairs
from xconduit.outbox.sql import load_queries


@dataclass(frozen=True, kw_only=True, slots=True)
class AudienceBreakdown:
    members_by_identifier: dict[str, int] = field(default_factory=dict)
    """X identifier type (`email`, `phone_number`, `handle`, `twitter_id`, `device_id`, …) →
    members X accepted that were sent with one."""
    pending_adds: int = 0
    pending_removes: int = 0


@runtime_checkable
class AudienceBreakdowns(Protocol):
    def audience_breakdown(self, audience: str) -> AudienceBreakdown: ...


class _SqlBreakdown:
    _breakdown_queries: dict[str, str]
    _read: Callable[[str, dict[str, Any]], list[Any]]  # the store's

    def audience_breakdown(self, audience: str) -> AudienceBreakdown:
        queries = self._breakdown_queries
        params = {"audience": audience}
        ids = {str(k): int(n) for k, n in self._read(queries["members_by_identifier"], params)}
        ops = {str(op): int(n) for op, n in self._read(queries["pending_by_op"], params)}
        return AudienceBreakdown(
            members_by_identifier=ids,
            pending_adds=ops.get("add", 0),
            pending_removes=ops.get("remove", 0),
        )


class SqliteBreakdown(_SqlBreakdown):
    _breakdown_queries = load_queries("sqlite", "audience_breakdown.sql")


class PostgresBreakdown(_SqlBreakdown):
    _breakdown_queries = load_queries("postgresql", "audience_breakdown.sql")


class MemoryBreakdown:
    _lock: threading.Lock

    def audience_breakdown(self, audience: str) -> AudienceBreakdown:
        with self._lock:
            members = list(getattr(self, "_a_members", {}).get(audience, {}).values())
            pending = [p.op for p in getattr(self, "_a_pending", {}).get(audience, {}).values()]
        ids: Counter[str] = Counter()
        for payload in members:
            ids.update({key for key, _ in user_pairs(payload)})
        return AudienceBreakdown(
            members_by_identifier=dict(ids),
            pending_adds=pending.count("add"),
            pending_removes=pending.count("remove"),
        )
