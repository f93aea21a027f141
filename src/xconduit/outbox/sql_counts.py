"""The counters, recent events and secrets of the SQL stores (see `xconduit.outbox.counts`).

The steps are the same for SQLite and PostgreSQL; the dialect writes the counts and the recent
rows (`Dialect.add_counts`, `Dialect.write_recent`: one statement per row, or arrays).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from xconduit.outbox.counts import (
    CounterRow,
    JobKey,
    MinuteRow,
    RecentRow,
    labels_of,
    newest_recent,
)
from xconduit.outbox.jobs import IncomingEvent
from xconduit.outbox.sql_base import AddCounts, SqlAccess, WriteRecent, change

if TYPE_CHECKING:
    from xconduit.outbox.counts import Count, RecentEvent


def note_new_events(
    add_counts: AddCounts,
    write_recent: WriteRecent,
    conn: Any,
    events: Sequence[IncomingEvent],
    fresh: Sequence[bool],
    now: float,
    *,
    recent: bool = True,
) -> None:
    """The counts and (unless `recent=False`) recent rows of the new events, in
    `commit_events`' transaction."""
    counts = [c for event, new in zip(events, fresh, strict=True) if new for c in event.counts]
    add_counts(conn, counts, now)
    if not recent:
        return
    recents = newest_recent([event.recent for event in events], fresh)
    write_recent(conn, [(recent, now) for recent in recents])


class SqlCounts:
    """`CountingStore` for the SQL stores."""

    def add_counts(self: SqlAccess, counts: Sequence[Count], *, now: float) -> None:
        if counts:
            with self._write() as conn:
                self._dialect.add_counts(conn, counts, now)

    def add_recent(self: SqlAccess, rows: Sequence[tuple[RecentEvent, float]]) -> None:
        if rows:
            with self._write() as conn:
                self._dialect.write_recent(conn, rows)

    def counter_totals(self: SqlAccess) -> list[CounterRow]:
        return [
            CounterRow(name, labels_of(labels), float(value))
            for name, labels, value in self._read(self._dialect.queries["counter_totals"], {})
        ]

    def counter_minutes(self: SqlAccess, since: float) -> list[MinuteRow]:
        params = {"minute": int(since // 60)}
        rows = self._read(self._dialect.queries["counter_minutes"], params)
        return [
            MinuteRow(int(minute), name, labels_of(labels), float(value))
            for minute, name, labels, value in rows
        ]

    def purge_counter_minutes(self: SqlAccess, older_than: float) -> int:
        params = {"minute": int(older_than // 60)}
        return change(self, self._dialect.queries["purge_counter_minutes"], params)

    def recent_events(
        self: SqlAccess, *, source: str | None = None, limit: int = 100
    ) -> list[RecentRow]:
        rows = self._read(
            self._dialect.queries["recent_events"], {"source": source, "limit": limit}
        )
        untext = self._dialect.untext
        return [
            RecentRow(row[0], row[1], untext(row[2]), untext(row[3]), float(row[4]), bytes(row[5]))
            for row in rows
        ]

    def job_states(self: SqlAccess, keys: Sequence[JobKey]) -> dict[JobKey, str]:
        text, states = self._dialect.text, {}
        for key in keys:
            destination, message_id, received_at = key
            params = {
                "destination": text(destination),
                "message_id": text(message_id),
                "received_at": received_at,
            }
            rows = self._read(self._dialect.queries["job_state"], params)
            if rows:
                states[key] = str(rows[0][0])
        return states

    def put_secret(self: SqlAccess, name: str, value: bytes, *, now: float) -> None:
        change(
            self, self._dialect.queries["put_secret"], {"name": name, "value": value, "now": now}
        )

    def get_secret(self: SqlAccess, name: str) -> bytes | None:
        rows = self._read(self._dialect.queries["get_secret"], {"name": name})
        return bytes(rows[0][0]) if rows else None

    def delete_secret(self: SqlAccess, name: str) -> bool:
        return change(self, self._dialect.queries["delete_secret"], {"name": name}) > 0
