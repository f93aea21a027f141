"""How `SqliteStore` writes counts and recent events (see `xconduit.outbox.sql_counts`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from functools import partial

from xconduit.outbox.counts import RECENT_PER_SOURCE, Count, RecentEvent, summed
from xconduit.outbox.hours import sqlite_add_hours
from xconduit.outbox.sql import load_queries
from xconduit.outbox.sql_counts import note_new_events

Q = load_queries("sqlite")


def add_counts(conn: sqlite3.Connection, counts: Sequence[Count], now: float) -> None:
    """Inside the caller's write transaction."""
    minute = int(now // 60)
    rows = [
        {"name": name, "labels": labels, "value": value, "minute": minute}
        for (name, labels), value in summed(counts).items()
    ]
    if rows:
        conn.executemany(Q["add_count"], rows)
        conn.executemany(Q["add_count_minute"], rows)
        sqlite_add_hours(conn, rows)


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
    conn.execute(Q["trim_job_commits"], {"now": max(at for _, at in rows)})


note_events = partial(note_new_events, add_counts, write_recent)
"""The counts and recent rows of the new events, in `commit_events`' transaction."""
