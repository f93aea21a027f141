"""`SqliteStore`'s counters, recent events and secrets (see `xconduit.queue.counts`)."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from xconduit.queue.counts import (
    RECENT_PER_SOURCE,
    Count,
    CounterRow,
    MinuteRow,
    RecentEvent,
    RecentRow,
    labels_of,
    newest_recent,
)
from xconduit.queue.hours import sqlite_add_hours
from xconduit.queue.jobs import IncomingEvent
from xconduit.queue.sql import load_queries

Q = load_queries("sqlite")


def _summed(counts: Sequence[Count]) -> dict[tuple[str, str], float]:
    """One row per counter: a commit of 500 events touches a handful of counters."""
    summed: dict[tuple[str, str], float] = defaultdict(float)
    for count in counts:
        summed[(count.name, count.labels_json)] += count.value
    return summed


def add_counts(conn: sqlite3.Connection, counts: Sequence[Count], now: float) -> None:
    """Inside the caller's write transaction."""
    minute = int(now // 60)
    rows = [
        {"name": name, "labels": labels, "value": value, "minute": minute}
        for (name, labels), value in _summed(counts).items()
    ]
    if rows:
        conn.executemany(Q["add_count"], rows)
        conn.executemany(Q["add_count_minute"], rows)
        sqlite_add_hours(conn, rows)


def note_events(
    conn: sqlite3.Connection, events: Sequence[IncomingEvent], fresh: Sequence[bool], now: float
) -> None:
    """The counts and recent rows of the new events, in `commit_events`' transaction."""
    counts = [c for event, new in zip(events, fresh, strict=True) if new for c in event.counts]
    add_counts(conn, counts, now)
    recents = newest_recent([event.recent for event in events], fresh)
    write_recent(conn, [(recent, now) for recent in recents])


def write_recent(conn: sqlite3.Connection, rows: Sequence[tuple[RecentEvent, float]]) -> None:
    """Recent events (oldest first, each with its commit time), then the trim, inside the
    caller's write transaction."""
    if not rows:
        return
    conn.executemany(
        Q["insert_recent_event"],
        [
            {
                "source": r.source,
                "message_id": r.message_id,
                "event": r.event,
                "results": r.results,
                "now": at,
            }
            for r, at in rows
        ],
    )
    for source in {r.source for r, _ in rows}:
        conn.execute(Q["trim_recent_events"], {"source": source, "keep": RECENT_PER_SOURCE})


class SqliteCounts:
    """Mixed into `SqliteStore`, whose `_write` and `_read` these methods use."""

    if TYPE_CHECKING:

        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _read(self, query: str, params: dict[str, Any]) -> list[sqlite3.Row]: ...

    def add_counts(self, counts: Sequence[Count], *, now: float) -> None:
        if counts:
            with self._write() as conn:
                add_counts(conn, counts, now)

    def add_recent(self, rows: Sequence[tuple[RecentEvent, float]]) -> None:
        if rows:
            with self._write() as conn:
                write_recent(conn, rows)

    def counter_totals(self) -> list[CounterRow]:
        return [
            CounterRow(name, labels_of(labels), float(value))
            for name, labels, value in self._read(Q["counter_totals"], {})
        ]

    def counter_minutes(self, since: float) -> list[MinuteRow]:
        rows = self._read(Q["counter_minutes"], {"minute": int(since // 60)})
        return [
            MinuteRow(int(minute), name, labels_of(labels), float(value))
            for minute, name, labels, value in rows
        ]

    def purge_counter_minutes(self, older_than: float) -> int:
        with self._write() as conn:
            return conn.execute(
                Q["purge_counter_minutes"], {"minute": int(older_than // 60)}
            ).rowcount

    def recent_events(self, *, source: str | None = None, limit: int = 100) -> list[RecentRow]:
        rows = self._read(Q["recent_events"], {"source": source, "limit": limit})
        return [
            RecentRow(row[0], row[1], row[2], row[3], float(row[4]), bytes(row[5])) for row in rows
        ]

    def job_states(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        states: dict[tuple[str, str], str] = {}
        for destination, message_id in keys:
            rows = self._read(
                Q["job_state"], {"destination": destination, "message_id": message_id}
            )
            if rows:
                states[(destination, message_id)] = str(rows[0][0])
        return states

    def put_secret(self, name: str, value: bytes, *, now: float) -> None:
        with self._write() as conn:
            conn.execute(Q["put_secret"], {"name": name, "value": value, "now": now})

    def get_secret(self, name: str) -> bytes | None:
        rows = self._read(Q["get_secret"], {"name": name})
        return bytes(rows[0][0]) if rows else None

    def delete_secret(self, name: str) -> bool:
        with self._write() as conn:
            return conn.execute(Q["delete_secret"], {"name": name}).rowcount > 0
