"""How many jobs wait per priority class (migration 0013's `priority`), for the overview's
"when each class reaches X": delivery claims the most urgent first (`xconduit.config.priority`).
Mixins of the three stores; each uses its store's `_read` (the memory store its `_lock`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from xconduit.outbox.jobs import ACTIVE_STATUSES, DeliveryJob
from xconduit.outbox.sql import load_queries

ByPriority = dict[tuple[str, str, int], int]
"""(destination, owner, priority) → jobs not delivered yet (pending, in flight, retrying)."""


@runtime_checkable
class WaitingStore(Protocol):
    def waiting_by_priority(self) -> ByPriority: ...


class SqliteWaiting:
    _waiting_query = load_queries("sqlite", "waiting.sql")["waiting_by_priority"]

    _read: Callable[[str, dict[str, Any]], list[Any]]  # the store's

    def waiting_by_priority(self) -> ByPriority:
        return {(d, o, int(p)): int(n) for d, o, p, n in self._read(self._waiting_query, {})}


class MemoryWaiting:
    if TYPE_CHECKING:
        _lock: threading.Lock
        _jobs: dict[int, DeliveryJob]

    def waiting_by_priority(self) -> ByPriority:
        out: ByPriority = {}
        with self._lock:
            for job in self._jobs.values():
                if job.status in ACTIVE_STATUSES:
                    key = (job.destination, job.owner, job.priority)
                    out[key] = out.get(key, 0) + 1
        return out
