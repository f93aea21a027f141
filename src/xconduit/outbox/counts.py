"""What the outbox counts besides jobs: counters, the recent events, and small secrets.

    Count("conversions_filtered", (("destination", "shop"),))   one increment of a counter
    store.add_counts([...], now=...)                             in one transaction

Counters live in the store, so every process that shares it adds to the same numbers and the
dashboard and `/metrics` show one truth. Each is kept twice: a running total (never purged; what
Prometheus reads) and per-minute amounts for the dashboard's last hour and last day (purged after
`MINUTES_KEPT`). A counter is created by its first increment: syncs and audiences add theirs
(`sync_rows`, `audience_users_added`, …) with `add_counts` and they appear in `/metrics`.

The recent events are the live debugger's: per source the last `RECENT_PER_SOURCE` events, each
with what became of it per destination and the exact conversion (hashed identifiers only).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple, Protocol

import orjson

RECENT_PER_SOURCE = 100
MINUTES_KEPT = 2 * 24 * 3600.0
"""Seconds of per-minute counts kept (the dashboard shows the last day)."""

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Count:
    """An increment of the counter `name` with these labels (sorted by name)."""

    name: str
    labels: Labels = ()
    value: float = 1.0

    @property
    def labels_json(self) -> str:
        return labels_json(self.labels)


@lru_cache(maxsize=4096)
def labels_json(labels: Labels) -> str:
    """Cached: the labels are few and repeat on every event (a sync's row pays ~0.1 µs)."""
    return orjson.dumps(dict(sorted(labels))).decode()


def summed(counts: Sequence[Count]) -> dict[tuple[str, str], float]:
    """One value per counter (name, labels JSON): a commit of 500 events touches a handful."""
    # Counted by object first: the template path gives every event of a shape the same Count
    # objects, so the labels' JSON is looked up once per object, not once per event (a commit
    # of 800 events: ~2 → ~0.3 µs per event).
    times = Counter(map(id, counts))
    objects = {id(count): count for count in counts}
    sums: dict[tuple[str, str], float] = defaultdict(float)
    for key, n in times.items():
        count = objects[key]
        total = sums[(count.name, count.labels_json)]
        if float(count.value).is_integer():
            total += count.value * n  # exact: whole numbers below 2**53
        else:
            for _ in range(n):
                total += count.value
        sums[(count.name, count.labels_json)] = total
    return sums


def labels_of(text: str) -> dict[str, str]:
    loaded = orjson.loads(text)
    return {str(k): str(v) for k, v in loaded.items()}


class RecentEvent:
    """An accepted event as the debugger shows it: its name and, per destination, the outcome,
    the reason and the conversion (JSON bytes of a list of objects).

    `results` may be given as a function that makes those bytes: it runs only for the rows
    written (at most `RECENT_PER_SOURCE` per source every `RECENT_EVERY`), not for the
    thousands of events a second that are never kept (~0.7 µs an event)."""

    __slots__ = ("_results", "event", "message_id", "source")

    def __init__(
        self, *, source: str, message_id: str, event: str, results: bytes | Callable[[], bytes]
    ) -> None:
        self.source = source
        self.message_id = message_id
        self.event = event
        self._results = results

    @property
    def results(self) -> bytes:
        if not isinstance(self._results, bytes):
            self._results = self._results()
        return self._results

    def __repr__(self) -> str:
        return f"RecentEvent(source={self.source!r}, message_id={self.message_id!r})"


def newest_recent(
    recents: Sequence[RecentEvent | None], fresh: Sequence[bool]
) -> list[RecentEvent]:
    """The recent rows of the new events worth writing, oldest first: only the newest
    `RECENT_PER_SOURCE` of a source survive the trim, so a batch of 500 writes at most that many."""
    newest: dict[str, list[RecentEvent]] = defaultdict(list)
    for recent, new in zip(reversed(recents), reversed(fresh), strict=True):
        if new and recent is not None and len(newest[recent.source]) < RECENT_PER_SOURCE:
            newest[recent.source].append(recent)
    return [r for kept in newest.values() for r in reversed(kept)]


class CounterRow(NamedTuple):
    name: str
    labels: dict[str, str]
    value: float


class MinuteRow(NamedTuple):
    minute: int
    """Epoch seconds // 60."""
    name: str
    labels: dict[str, str]
    value: float


class RecentRow(NamedTuple):
    id: int
    source: str
    message_id: str
    event: str
    received_at: float
    results: bytes


JobKey = tuple[str, str, float]
"""A recent event's job: (destination, message_id, the event's received_at, which is the time of
the commit that inserted the job)."""


class CountingStore(Protocol):
    """The outbox's counters, recent events and secrets (SqliteStore and MemoryStore)."""

    def add_counts(self, counts: Sequence[Count], *, now: float) -> None:
        """Add every count to its total and to its minute, in one transaction."""
        ...

    def counter_totals(self) -> list[CounterRow]:
        """Every counter's total, sorted by name and labels."""
        ...

    def counter_minutes(self, since: float) -> list[MinuteRow]:
        """Per-minute amounts from the minute of `since` on."""
        ...

    def purge_counter_minutes(self, older_than: float) -> int:
        """Forget per-minute amounts before `older_than` (totals stay)."""
        ...

    def recent_events(self, *, source: str | None = None, limit: int = 100) -> list[RecentRow]:
        """The newest recent events first, of one source or all."""
        ...

    def add_recent(self, rows: Sequence[tuple[RecentEvent, float]]) -> None:
        """Recent events committed earlier (oldest first, each with its commit time), in one
        transaction: those the group committer held back while commits queued back to back."""
        ...

    def job_states(self, keys: Sequence[JobKey]) -> dict[JobKey, str]:
        """Status of the jobs of recent events, each `(destination, message_id, received_at)`
        (purged jobs are absent)."""
        ...

    def put_secret(self, name: str, value: bytes, *, now: float) -> None: ...

    def get_secret(self, name: str) -> bytes | None: ...

    def delete_secret(self, name: str) -> bool: ...
