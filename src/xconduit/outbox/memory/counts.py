"""`MemoryStore`'s counters, recent events and secrets (see `xconduit.outbox.counts`)."""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

from xconduit.outbox.counts import (
    RECENT_PER_SOURCE,
    Count,
    CounterRow,
    JobKey,
    MinuteRow,
    RecentEvent,
    RecentRow,
    labels_of,
)
from xconduit.outbox.jobs import IncomingEvent

if TYPE_CHECKING:
    from xconduit.outbox.jobs import DeliveryJob


class MemoryCounts:
    """Mixed into `MemoryStore`; call `_init_counts` from its constructor."""

    if TYPE_CHECKING:
        _lock: threading.Lock
        _jobs: dict[int, DeliveryJob]
        _committed_at: dict[int, float]

        def _add_hours(self, counts: Sequence[Count], now: float) -> None: ...

    def _init_counts(self) -> None:
        self._totals: dict[tuple[str, str], float] = defaultdict(float)
        self._minutes: dict[tuple[int, str, str], float] = defaultdict(float)
        self._recent: dict[str, deque[RecentRow]] = {}
        self._recent_id = 0
        self._secrets: dict[str, bytes] = {}

    def _add(self, counts: Sequence[Count], now: float) -> None:
        minute = int(now // 60)
        for count in counts:
            self._totals[(count.name, count.labels_json)] += count.value
            self._minutes[(minute, count.name, count.labels_json)] += count.value
        self._add_hours(counts, now)  # outbox/hours.py

    def _note_events(
        self,
        events: Sequence[IncomingEvent],
        fresh: Sequence[bool],
        now: float,
        *,
        recent: bool = True,
    ) -> None:
        """Under the store's lock, in `commit_events`."""
        for event, new in zip(events, fresh, strict=True):
            if not new:
                continue
            self._add(event.counts, now)
            if recent and event.recent is not None:
                self._keep_recent(event.recent, now)

    def _keep_recent(self, r: RecentEvent, at: float) -> None:
        self._recent_id += 1
        row = RecentRow(self._recent_id, r.source, r.message_id, r.event, at, r.results)
        self._recent.setdefault(r.source, deque(maxlen=RECENT_PER_SOURCE)).append(row)

    def add_recent(self, rows: Sequence[tuple[RecentEvent, float]]) -> None:
        with self._lock:
            for recent, at in rows:
                self._keep_recent(recent, at)

    def add_counts(self, counts: Sequence[Count], *, now: float) -> None:
        with self._lock:
            self._add(counts, now)

    def counter_totals(self) -> list[CounterRow]:
        with self._lock:
            return [
                CounterRow(name, labels_of(labels), value)
                for (name, labels), value in sorted(self._totals.items())
            ]

    def counter_minutes(self, since: float) -> list[MinuteRow]:
        first = int(since // 60)
        with self._lock:
            return [
                MinuteRow(minute, name, labels_of(labels), value)
                for (minute, name, labels), value in sorted(self._minutes.items())
                if minute >= first
            ]

    def purge_counter_minutes(self, older_than: float) -> int:
        first = int(older_than // 60)
        with self._lock:
            old = [key for key in self._minutes if key[0] < first]
            for key in old:
                del self._minutes[key]
        return len(old)

    def recent_events(self, *, source: str | None = None, limit: int = 100) -> list[RecentRow]:
        with self._lock:
            rows = [
                row
                for name, kept in self._recent.items()
                if source is None or name == source
                for row in kept
            ]
        return sorted(rows, key=lambda row: -row.id)[:limit]

    def job_states(self, keys: Sequence[JobKey]) -> dict[JobKey, str]:
        wanted = set(keys)
        states: dict[JobKey, str] = {}
        with self._lock:
            for job in sorted(self._jobs.values(), key=lambda job: job.id):
                at = self._committed_at.get(job.id)
                key = (job.destination, job.message_id, at) if at is not None else None
                if key in wanted:
                    states[key] = str(job.status)
        return states

    def put_secret(self, name: str, value: bytes, *, now: float) -> None:
        with self._lock:
            self._secrets[name] = value

    def get_secret(self, name: str) -> bytes | None:
        with self._lock:
            return self._secrets.get(name)

    def delete_secret(self, name: str) -> bool:
        with self._lock:
            return self._secrets.pop(name, None) is not None
