"""How `PostgresStore` writes counts and recent events (see `xconduit.outbox.sql_counts`):
arrays, a few statements per transaction whatever the number of rows."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import psycopg

from xconduit.outbox.counts import RECENT_PER_SOURCE, Count, RecentEvent, summed
from xconduit.outbox.hours import postgres_add_hours
from xconduit.outbox.postgres.text import pg_text
from xconduit.outbox.sql import load_queries
from xconduit.outbox.sql_counts import note_new_events

Q = load_queries("postgresql")


def add_counts(conn: psycopg.Connection[Any], counts: Sequence[Count], now: float) -> None:
    """Inside the caller's transaction; two statements, whatever the number of counters."""
    sums = summed(counts)
    if not sums:
        return
    keys = sorted(sums)  # one lock order for every writer
    params = {
        "names": [name for name, _ in keys],
        "labels": [labels for _, labels in keys],
        "values": [sums[key] for key in keys],
        "minute": int(now // 60),
    }
    conn.execute(Q["add_counts"], params)
    conn.execute(Q["add_count_minutes"], params)
    postgres_add_hours(conn, params)


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
    conn.execute(Q["trim_job_commits"], {"now": max(at for _, at in rows)})


note_events = partial(note_new_events, add_counts, write_recent)
"""The counts and recent rows of the new events, in `commit_events`' transaction."""
