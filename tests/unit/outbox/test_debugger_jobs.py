"""The live debugger shows each recent conversion's job state: found through the commit that
inserted the job (migration 0017), with no index on the random message ids."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from tests.support.pgtemp import temp_schema
from xconduit.outbox import IncomingEvent, NewJob, postgres
from xconduit.outbox.counts import RECENT_PER_SOURCE, RecentEvent
from xconduit.outbox.postgres import PostgresStore
from xconduit.outbox.sql import load_migrations
from xconduit.outbox.sqlite import SqliteStore, migrate
from xconduit.outbox.syncs import SyncState

NOW = 1_767_268_800.123456
"""A commit's time as `time.time()` gives it: the lookup matches it exactly."""


def event(
    message_id: str, source: str = "web", destination: str = "shop", results: bytes | None = None
) -> IncomingEvent:
    job = NewJob(
        destination=destination,
        account_id="acc",
        pixel_id="px",
        message_id=message_id,
        conversion_id=f"order-{message_id}",
        payload=b"{}",
    )
    if results is None:
        results = orjson.dumps([{"destination": destination, "outcome": "conversion"}])
    return IncomingEvent(
        source=source,
        message_id=message_id,
        jobs=(job,),
        recent=RecentEvent(source=source, message_id=message_id, event="Purchase", results=results),
    )


def states(store: Any) -> dict[str, str]:
    """message_id → state, as the debugger asks: one key per recent row."""
    rows = store.recent_events(limit=1000)
    keys = [("shop", row.message_id, row.received_at) for row in rows]
    found = store.job_states(keys)
    return {key[1]: found.get(key, "purged") for key in keys}


def test_each_recent_event_shows_its_jobs_state(store: Any) -> None:
    store.commit_events([event("a"), event("b")], now=NOW)
    # Held rows (the group committer writes them later) keep their commit's time.
    store.commit_events([event("c")], now=NOW + 1, recent=False)
    store.add_recent([(event("c").recent, NOW + 1)])
    jobs = store.claim_batch("shop", limit=10, now=NOW + 2, lease_seconds=30)
    assert sorted(job.message_id for job in jobs) == ["a", "b", "c"]
    store.mark_delivered([job.id for job in jobs if job.message_id == "b"], now=NOW + 3)
    store.dead_letter([(job.id, "http_400") for job in jobs if job.message_id == "c"], now=NOW + 3)
    assert states(store) == {"a": "in_flight", "b": "delivered", "c": "dead"}
    store.purge_dead()
    assert states(store)["c"] == "purged"


def test_a_lookup_reads_the_events_own_commit(store: Any) -> None:
    """The same message id from two sources makes two jobs: each recent row shows its own."""
    store.commit_events([event("same", source="web")], now=NOW)
    store.commit_events([event("same", source="app")], now=NOW + 1)
    jobs = store.claim_batch("shop", limit=10, now=NOW + 2, lease_seconds=30)
    store.release([max(job.id for job in jobs)], now=NOW + 2)  # the app's: committed second
    store.mark_delivered([min(job.id for job in jobs)], now=NOW + 3)
    by_source = {
        row.source: store.job_states([("shop", row.message_id, row.received_at)])
        for row in store.recent_events()
    }
    assert by_source == {
        "web": {("shop", "same", NOW): "delivered"},
        "app": {("shop", "same", NOW + 1): "pending"},
    }


def test_only_commits_no_recent_event_points_at_are_forgotten(sql_store: Any) -> None:
    """A commit is forgotten once no recent event kept points at it and it is 10 minutes old
    (another process may still hold rows of its own to write): a quiet source's old event keeps
    its own, not every later one; held rows keep theirs."""

    def commits() -> list[float]:
        rows = sql_store._read("SELECT at FROM job_commits ORDER BY at", {})
        return [float(row[0]) for row in rows]

    def many(tag: str, at: float) -> None:
        sql_store.commit_events([event(f"{tag}{n}") for n in range(RECENT_PER_SOURCE)], now=at)

    sql_store.commit_events([event("quiet", source="app")], now=NOW)
    many("a", NOW + 1000)
    many("b", NOW + 2000)  # a's recent rows are trimmed: its commit goes
    assert commits() == [NOW, NOW + 2000]
    sql_store.commit_events([event("held")], now=NOW + 3000, recent=False)
    many("c", NOW + 3100)
    assert commits() == [NOW, NOW + 3000, NOW + 3100]
    sql_store.add_recent([(event("held").recent, NOW + 3000)])
    found = states(sql_store)
    assert (found["quiet"], found["held"], found["c99"]) == ("pending", "pending", "pending")


def test_a_syncs_commit_notes_no_job_range(sql_store: Any) -> None:
    """A sync keeps no recent events: its commits would only grow the table."""
    rows = [event("row-1", source="sync:orders"), event("row-2", source="sync:orders")]
    commit = sql_store.commit_sync_batch("orders", rows, state=SyncState(cursor="1"), now=NOW)
    assert commit.accepted == [True, True]
    assert sql_store._read("SELECT count(*) FROM job_commits", {})[0][0] == 0
    sql_store.commit_events([event("from-the-site")], now=NOW + 1)
    assert sql_store._read("SELECT count(*) FROM job_commits", {})[0][0] == 1


NUL_RESULTS = orjson.dumps(
    [{"destination": "shop", "outcome": "conversion", "conversion": {"name": "Mug\x00"}}]
)
"""A debugger row holding `\\u0000` (a product name may): PostgreSQL's jsonb refuses it."""
BEFORE_17 = [
    (NOW, [event("old-1"), event("old-2")]),
    (NOW + 1, [event("old-3"), event("nul", results=NUL_RESULTS)]),
    (NOW + 2, [event("unreadable", results=b"{not json")]),
]


def test_migration_17_links_the_recent_events_kept_to_their_jobs(tmp_path: Path) -> None:
    """An outbox at version 16 (jobs found through the message index) keeps showing the states
    of the recent events it already had."""
    path = tmp_path / "q.db"
    store = SqliteStore(path)
    for at, events in BEFORE_17:
        store.commit_events(events, now=at)
    store.close()
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in (
        "DROP TABLE job_commits",
        "CREATE INDEX delivery_jobs_message ON delivery_jobs (destination, message_id) "
        "WHERE traced = 1",
        "DELETE FROM schema_version WHERE version = 17",
    ):
        conn.execute(statement)
    assert migrate(conn) == 17
    index = "SELECT count(*) FROM sqlite_master WHERE name = 'delivery_jobs_message'"
    assert conn.execute(index).fetchone()[0] == 0
    conn.close()
    store = SqliteStore(path)
    assert states(store) == {
        "old-1": "pending",
        "old-2": "pending",
        "old-3": "pending",
        "nul": "pending",
        "unreadable": "purged",  # results the debugger cannot read either: linked to nothing
    }
    store.close()


@pytest.mark.postgres
def test_migration_17_on_postgresql_links_the_recent_events_kept_to_their_jobs() -> None:
    with temp_schema() as url:
        store = PostgresStore(url)
        for at, events in BEFORE_17:
            store.commit_events(events, now=at)
        store.close()
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in (
                "DROP TABLE job_commits",
                "CREATE INDEX job_payloads_message ON job_payloads (destination, message_id)",
                "DELETE FROM schema_version WHERE version >= 17",  # 0018 runs again: harmless
            ):
                conn.execute(statement.encode())
            assert postgres.migrate(conn) == load_migrations("postgresql")[-1].version
            index = (
                "SELECT count(*) FROM pg_indexes WHERE indexname = 'job_payloads_message' "
                "AND schemaname = current_schema()"
            )
            assert conn.execute(index.encode()).fetchone() == (0,)
        store = PostgresStore(url)
        assert states(store) == {
            "old-1": "pending",
            "old-2": "pending",
            "old-3": "pending",
            "nul": "purged",  # jsonb refuses \u0000: the row is skipped, the migration goes on
            "unreadable": "purged",
        }
        store.close()
