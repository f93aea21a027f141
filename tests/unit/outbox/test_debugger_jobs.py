"""The live debugger shows each recent conversion's job state: found through the commit that
inserted the job (SQLite, migration 0017), with no index on the random message ids."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson

from xconduit.outbox import IncomingEvent, NewJob
from xconduit.outbox.counts import RecentEvent
from xconduit.outbox.sqlite import SqliteStore, migrate

NOW = 1_767_268_800.0


def event(message_id: str, source: str = "web", destination: str = "shop") -> IncomingEvent:
    job = NewJob(
        destination=destination,
        account_id="acc",
        pixel_id="px",
        message_id=message_id,
        conversion_id=f"order-{message_id}",
        payload=b"{}",
    )
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


def test_a_sqlite_lookup_reads_the_events_own_commit(tmp_path: Path) -> None:
    """The same message id from two sources makes two jobs: each recent row shows its own."""
    store = SqliteStore(tmp_path / "q.db")
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
    store.close()


def test_sqlite_forgets_the_commits_no_recent_event_points_at(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "q.db")
    for n in range(3):
        store.commit_events([event(f"m{n}")], now=NOW + n)
    commits = "SELECT at FROM job_commits ORDER BY at"
    assert [row[0] for row in store._conn.execute(commits)] == [NOW, NOW + 1, NOW + 2]
    store._conn.execute("DELETE FROM recent_events WHERE received_at < ?", (NOW + 2,))
    store.commit_events([event("m3")], now=NOW + 3)
    assert [row[0] for row in store._conn.execute(commits)] == [NOW + 2, NOW + 3]
    # A commit whose rows are held stays until they are written.
    store.commit_events([event("m4")], now=NOW + 4, recent=False)
    store.commit_events([event("m5")], now=NOW + 5)
    assert [row[0] for row in store._conn.execute(commits)] == [NOW + 2, NOW + 3, NOW + 4, NOW + 5]
    store.close()


def test_migration_17_links_the_recent_events_kept_to_their_jobs(tmp_path: Path) -> None:
    """An outbox at version 16 (jobs found through the message index) keeps showing the states
    of the recent events it already had."""
    path = tmp_path / "q.db"
    store = SqliteStore(path)
    store.commit_events([event("old-1"), event("old-2")], now=NOW)
    store.commit_events([event("old-3")], now=NOW + 1)
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
    assert states(store) == {"old-1": "pending", "old-2": "pending", "old-3": "pending"}
    store.close()
