"""`PostgresStore`'s counters, recent events and secrets (see `xconduit.queue.counts`); the
same rules as `SqliteCounts`, with its SQL in `sql/postgresql/queries.sql`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import psycopg

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
from xconduit.queue.hours import postgres_add_hours
from xconduit.queue.jobs import IncomingEvent
from xconduit.queue.pg_text import pg_text, pg_untext
from xconduit.queue.sql import load_queries

Q = load_queries("postgresql")


def add_counts(conn: psycopg.Connection[Any], counts: Sequence[Count], now: float) -> None:
    """Inside the caller's transaction; two statements, whatever the number of counters."""
    summed: dict[tuple[str, str], float] = defaultdict(float)
    for count in counts:
        summed[(count.name, count.labels_json)] += count.value
    if not summed:
        return
    keys = sorted(summed)  # one lock order for every writer
    params = {
        "names": [name for name, _ in keys],
        "labels": [labels for _, labels in keys],
        "values": [summed[key] for key in keys],
        "minute": int(now // 60),
    }
    conn.execute(Q["add_counts"], params)
    conn.execute(Q["add_count_minutes"], params)
    postgres_add_hours(conn, params)


def note_events(
    conn: psycopg.Connection[Any],
    events: Sequence[IncomingEvent],
    fresh: Sequence[bool],
    now: float,
) -> None:
    """The counts and recent rows of the new events, in `commit_events`' transaction."""
    counts = [c for event, new in zip(events, fresh, strict=True) if new for c in event.counts]
    add_counts(conn, counts, now)
    recents = newest_recent([event.recent for event in events], fresh)
    write_recent(conn, [(recent, now) for recent in recents])


def write_recent(conn: psycopg.Connection[Any], rows: Sequence[tuple[RecentEvent, float]]) -> None:
    """Recent events (oldest first, each with its commit time), then the trim, inside the
    caller's transaction."""
    if not rows:
        return
    params = {
        "sources": [r.source for r, _ in rows],
        "message_ids": [pg_text(r.message_id) for r, _ in rows],
        "events": [pg_text(r.event) for r, _ in rows],
        "results": [r.results for r, _ in rows],
        "times": [at for _, at in rows],
    }
    conn.execute(Q["insert_recent_events"], params)
    for source in sorted({r.source for r, _ in rows}):
        conn.execute(Q["trim_recent_events"], {"source": source, "keep": RECENT_PER_SOURCE})


class PostgresCounts:
    """Mixed into `PostgresStore`, whose `_tx` and `_read` these methods use."""

    if TYPE_CHECKING:

        def _tx(self) -> AbstractContextManager[psycopg.Connection[Any]]: ...

        def _read(self, query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]: ...

    def add_counts(self, counts: Sequence[Count], *, now: float) -> None:
        if counts:
            with self._tx() as conn:
                add_counts(conn, counts, now)

    def add_recent(self, rows: Sequence[tuple[RecentEvent, float]]) -> None:
        if rows:
            with self._tx() as conn:
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
        with self._tx() as conn:
            return conn.execute(
                Q["purge_counter_minutes"], {"minute": int(older_than // 60)}
            ).rowcount

    def recent_events(self, *, source: str | None = None, limit: int = 100) -> list[RecentRow]:
        rows = self._read(Q["recent_events"], {"source": source, "limit": limit})
        return [
            RecentRow(row[0], row[1], pg_untext(row[2]), pg_untext(row[3]), row[4], bytes(row[5]))
            for row in rows
        ]

    def job_states(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        states: dict[tuple[str, str], str] = {}
        for destination, message_id in keys:
            params = {"destination": pg_text(destination), "message_id": pg_text(message_id)}
            rows = self._read(Q["job_state"], params)
            if rows:
                states[(destination, message_id)] = str(rows[0][0])
        return states

    def put_secret(self, name: str, value: bytes, *, now: float) -> None:
        with self._tx() as conn:
            conn.execute(Q["put_secret"], {"name": name, "value": value, "now": now})

    def get_secret(self, name: str) -> bytes | None:
        rows = self._read(Q["get_secret"], {"name": name})
        return bytes(rows[0][0]) if rows else None

    def delete_secret(self, name: str) -> bool:
        with self._tx() as conn:
            return conn.execute(Q["delete_secret"], {"name": name}).rowcount > 0
