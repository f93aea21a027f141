"""The SQLite outbox: the default store of a single node.

One connection, guarded by a lock, serves every thread of the process; every write is one
`BEGIN IMMEDIATE` transaction, so claims from other processes on the same file wait on SQLite's
lock (`busy_timeout`) instead of failing or reading stale rows. WAL mode lets readers of other
connections go on during a write. With `synchronous="FULL"` a returned commit survives a power
loss; with `"NORMAL"` it survives the process being killed, but the last commits may be lost if
the machine itself goes down.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from xconduit.errors import ConfigError, StoreBusy, StoreError
from xconduit.outbox.audience_breakdown import SqliteBreakdown
from xconduit.outbox.budget import SharedLedger
from xconduit.outbox.check_runs import SqlCheckRuns
from xconduit.outbox.hours import SqliteHours
from xconduit.outbox.jobs import Claim, DeliveryJob, IncomingEvent, JobStatus, NewJob
from xconduit.outbox.legs import SqliteLegs
from xconduit.outbox.sql import load_migrations, load_queries
from xconduit.outbox.sql_audiences import SqlAudiences, enqueue_changes_in
from xconduit.outbox.sql_base import Dialect, SqlJobs
from xconduit.outbox.sql_counts import SqlCounts
from xconduit.outbox.sqlite.counts import add_counts, note_events, write_recent
from xconduit.outbox.sync_runs import SqliteSyncRuns
from xconduit.outbox.syncs import SyncCommit, SyncState
from xconduit.outbox.waiting import SqliteWaiting

SYNCHRONOUS_MODES = ("FULL", "NORMAL", "EXTRA")
CACHE_KIB = 65_536
"""Page cache of the connection (SQLite's default is 2 MB)."""
BULK_CHECKPOINT_PAGES = 20_000
"""WAL pages (80 MB) before a checkpoint, for a process that writes in bulk (`xconduit sync`).
A sync's batches rewrite pages all over the dedup index; SQLite's default (1,000 pages)
copies them back into the database after nearly every transaction, a larger WAL copies each
page once for many transactions: 1M rows, alternating runs, ~53,000–55,500 → ~59,000 rows/s.
Collectors keep the default, so that no request waits behind a long checkpoint."""

Q = load_queries("sqlite")
AQ = load_queries("sqlite", "audiences.sql")
enqueue_changes = partial(enqueue_changes_in, AQ)
"""Coalesce audience changes into the pending ones, inside the caller's transaction."""


def split_statements(script: str) -> list[str]:
    """The complete SQL statements of a script, in order (comments and blank lines kept)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        not line.strip() or line.lstrip().startswith("--") for line in pending.splitlines()
    ):
        raise StoreError(f"unfinished SQL statement: {pending.strip()[:80]!r}")
    return statements


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations this database lacks, each in its own transaction; the new version.

    `conn` must be in autocommit mode (`isolation_level=None`). Safe when several processes open
    the same new database at once: the version is read under the write lock.
    """
    migrations = load_migrations("sqlite")
    version = 0
    for migration in migrations:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute(Q["has_schema_version"]).fetchone()[0]:
                version = conn.execute(Q["schema_version"]).fetchone()[0]
            if version >= migration.version:
                conn.execute("COMMIT")
                continue
            for statement in split_statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                Q["record_migration"], {"version": migration.version, "name": migration.name}
            )
            conn.execute("COMMIT")
            version = migration.version
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    if conn.execute(Q["has_schema_version"]).fetchone()[0]:
        version = conn.execute(Q["schema_version"]).fetchone()[0]
    if version > migrations[-1].version:
        raise StoreError(
            f"the database is at schema version {version}, newer than this xconduit knows "
            f"({migrations[-1].version}); upgrade xconduit"
        )
    return version


def _claimed(row: tuple[Any, ...]) -> DeliveryJob:
    """A row of `claim_batch` (plain tuple, in the query's column order) as a job.

    Positional and without `sqlite3.Row`: a claim returns up to 500 rows and this runs for each.
    """
    lease_until, delivered_at = row[11], row[13]
    return DeliveryJob(
        id=row[0],
        destination=row[1],
        account_id=row[2],
        pixel_id=row[3],
        message_id=row[4],
        conversion_id=row[5],
        payload=bytes(row[6]),
        status=JobStatus(row[7]),
        attempts=row[8],
        created_at=float(row[9]),
        next_attempt_at=float(row[10]),
        lease_until=None if lease_until is None else float(lease_until),
        last_error=row[12],
        delivered_at=None if delivered_at is None else float(delivered_at),
        owner=row[14],
        conversion_time=row[15],
    )


def _job(row: sqlite3.Row) -> DeliveryJob:
    values = dict(row)
    values["status"] = JobStatus(values["status"])
    values["payload"] = bytes(values["payload"])
    # RETURNING hands back values before REAL affinity applies; keep the types of DeliveryJob.
    for name in ("created_at", "next_attempt_at", "lease_until", "delivered_at"):
        if values[name] is not None:
            values[name] = float(values[name])
    return DeliveryJob(**values)


def _commit(
    conn: sqlite3.Connection, events: Sequence[IncomingEvent], now: float, *, traced: bool = True
) -> list[bool]:
    """Remember each event and insert its jobs, inside the caller's transaction (`traced`: as
    in `_commit_bulk`)."""
    accepted: list[bool] = []
    jobs: list[dict[str, Any]] = []
    for event in events:
        cursor = conn.execute(
            Q["remember_event"],
            {"source": event.source, "message_id": event.message_id, "now": now},
        )
        fresh = cursor.rowcount == 1
        accepted.append(fresh)
        if fresh:
            jobs.extend(
                {
                    "destination": job.destination,
                    "account_id": job.account_id,
                    "pixel_id": job.pixel_id,
                    "message_id": job.message_id,
                    "conversion_id": job.conversion_id,
                    "payload": job.payload,
                    "now": now,
                    "owner": job.owner,
                    "priority": job.priority,
                    "conversion_time": job.conversion_time,
                    "traced": int(traced),
                }
                for job in event.jobs
            )
            enqueue_changes(conn, event.audience_changes, now)
    conn.executemany(Q["insert_conversion_job"], jobs)
    return accepted


def _commit_bulk(
    conn: sqlite3.Connection, events: Sequence[IncomingEvent], now: float, *, traced: bool
) -> list[bool]:
    """`_commit` in a few statements: one per source to remember the ids, one per destination
    to insert the jobs, JSON arrays carrying the values. Per event, Python's `sqlite3` binds a
    statement's parameters and gives up the GIL at each step; in bulk a collector's commit of
    800 events took 28–35 instead of 37–55 µs of CPU per event (random message ids).
    `traced`: the live debugger may look the jobs up (the collector's; a sync's are not).

    Events with audience changes, and ids SQLite's JSON cannot carry (a NUL character), go
    through `_commit`."""
    if not all(map(_plain, events)):
        return _commit(conn, events, now, traced=traced)
    by_source: dict[str, set[str]] = {}
    for event in events:
        by_source.setdefault(event.source, set()).add(event.message_id)
    seen: set[tuple[str, str]] = set()
    for source, ids in by_source.items():
        seen.update((source, id_) for id_ in _remember(conn, source, ids, now))
    accepted: list[bool] = []
    for event in events:
        key = (event.source, event.message_id)
        fresh = key not in seen
        if fresh:
            seen.add(key)  # the same id twice in one batch: the first one only
        accepted.append(fresh)
    # The jobs of one destination, account, pixel and owner share those four columns: they are
    # parameters, not JSON per row.
    groups: dict[tuple[str, str, str, str], list[tuple[str, str, str, int, str]]] = {}
    for event, fresh in zip(events, accepted, strict=True):
        if fresh:
            for j in event.jobs:
                groups.setdefault((j.destination, j.account_id, j.pixel_id, j.owner), []).append(
                    (
                        j.message_id,
                        j.conversion_id,
                        j.payload.decode(),
                        j.priority,
                        j.conversion_time,
                    )
                )
    for (destination, account_id, pixel_id, owner), rows in groups.items():
        params = {
            "destination": destination,
            "account_id": account_id,
            "pixel_id": pixel_id,
            "owner": owner,
            "jobs": orjson.dumps(rows).decode(),
            "now": now,
            "traced": int(traced),
        }
        conn.execute(Q["insert_jobs_bulk"], params)
    return accepted


def _plain(event: IncomingEvent) -> bool:
    """Whether `_commit_bulk` can write the event: no audience change, no NUL in a text column
    (SQLite's JSON functions end a string there)."""
    if event.audience_changes or "\x00" in event.source or "\x00" in event.message_id:
        return False
    return not any(
        "\x00" in job.message_id or "\x00" in job.conversion_id or "\x00" in job.conversion_time
        for job in event.jobs
    )


def _remember(conn: sqlite3.Connection, source: str, ids: set[str], now: float) -> set[str]:
    """Note the ids of one source as seen; those seen before."""
    # Sorted: when the ids are content digests (a sync's), in key order the inserts walk the
    # index once.
    text = orjson.dumps(sorted(ids)).decode()
    remember = {"source": source, "ids": text, "now": now}
    # Usually every id is new, which the count of inserted rows tells; otherwise the insert is
    # undone and the ids seen before are asked first. One row each way: a statement stepping
    # row by row (RETURNING) gave up the GIL, and waited for the mapping thread, at each row.
    conn.execute("SAVEPOINT remember")
    before = conn.total_changes
    conn.execute(Q["remember_events_bulk"], remember)
    seen: set[str] = set()
    if conn.total_changes - before != len(ids):
        conn.execute("ROLLBACK TO remember")
        found = conn.execute(Q["seen_events_bulk"], {"source": source, "ids": text}).fetchone()
        seen = set(orjson.loads(found[0]))
        conn.execute(Q["remember_events_bulk"], remember)
    conn.execute("RELEASE remember")
    return seen


SQLITE = Dialect(
    name="sqlite",
    job=_job,
    ids=lambda ids: json.dumps(list(ids)),
    add_counts=add_counts,
    write_recent=write_recent,
    pairs=lambda pairs: {"pairs": json.dumps([list(p) for p in pairs])},
    member=bytes.decode,
)


class SqliteStore(
    SqlJobs,
    SqlCounts,
    SqlAudiences,
    SharedLedger,
    SqlCheckRuns,
    SqliteSyncRuns,
    SqliteBreakdown,
    SqliteLegs,
    SqliteHours,
    SqliteWaiting,
):
    """The outbox in one SQLite file (see `xconduit.outbox.Store` for each method)."""

    _dialect = SQLITE

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "FULL",
        busy_timeout: float = 10.0,
        checkpoint_pages: int | None = None,
    ) -> None:
        synchronous = synchronous.upper()
        if synchronous not in SYNCHRONOUS_MODES:
            raise ConfigError(
                f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}, not {synchronous!r}"
            )
        self.path = str(path)
        self.busy_timeout = busy_timeout
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
            self._conn.row_factory = sqlite3.Row
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal" and self.path != ":memory:":
                raise StoreError(f"cannot put {self.path} in WAL mode (journal_mode is {mode})")
            self._conn.execute(f"PRAGMA synchronous = {synchronous}")
            # Event ids are random, so bulk inserts (a sync's batches) land all over the id
            # indexes: with SQLite's default 2 MB page cache they re-read pages, ~20 % of a
            # sync's commit time. Pages are allocated as used, so an idle store stays small.
            self._conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            if checkpoint_pages is not None:
                self._conn.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint_pages)}")
            self.schema_version = migrate(self._conn)
        except sqlite3.Error as error:
            raise StoreError(f"cannot open the outbox at {self.path}: {error}") from error

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding this process's lock and SQLite's write lock.

        Both waits together last at most `busy_timeout`, then `StoreBusy`: a writer of this
        process waiting on SQLite's lock (a claim behind another process's claim) must not add
        its own wait to the next writer's (a collector commit), or a request waits several
        timeouts in a row.
        """
        start = time.monotonic()
        if not self._lock.acquire(timeout=self.busy_timeout):
            raise StoreBusy(self._busy_message())
        try:
            left = self.busy_timeout - (time.monotonic() - start)
            shortened = left < self.busy_timeout - 0.001
            try:
                if shortened:
                    self._conn.execute(f"PRAGMA busy_timeout = {max(1, int(left * 1000))}")
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.OperationalError as error:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if error.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    raise StoreBusy(self._busy_message()) from error
                raise StoreError(f"outbox write failed: {error}") from error
            except sqlite3.Error as error:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise StoreError(f"outbox write failed: {error}") from error
            finally:
                if shortened:
                    self._conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        finally:
            self._lock.release()

    def _busy_message(self) -> str:
        return (
            f"the outbox at {self.path} is held by another writer for more than "
            f"busy_timeout ({self.busy_timeout:g} s); nothing was written"
        )

    def _read(self, query: str, params: dict[str, Any]) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._conn.execute(query, params).fetchall()
            except sqlite3.Error as error:
                raise StoreError(f"outbox read failed: {error}") from error

    def commit_events(
        self, events: Sequence[IncomingEvent], *, now: float, recent: bool = True
    ) -> list[bool]:
        if not events:
            return []
        with self._write() as conn:
            after = conn.execute(Q["last_job_id"]).fetchone()[0]
            accepted = _commit_bulk(conn, events, now, traced=True)
            # The debugger finds a recent event's job among its commit's (its received_at).
            conn.execute(Q["note_job_commit"], {"now": now, "after": after})
            note_events(conn, events, accepted, now, recent=recent)
        return accepted

    def _claim_in(self, conn: sqlite3.Connection, claim: Claim) -> list[DeliveryJob]:
        if claim.limit <= 0:
            return []
        params = claim.params(claim.destination)
        cursor = conn.cursor()
        cursor.row_factory = None
        rows = cursor.execute(Q["claim_batch"], params).fetchall()
        return sorted((_claimed(row) for row in rows), key=lambda job: job.id)

    def _insert_jobs(self, conn: sqlite3.Connection, jobs: Sequence[NewJob], now: float) -> None:
        """New jobs, pending and due at once, inside the caller's transaction (the query takes
        the fields it stores)."""
        rows = [{**dataclasses.asdict(job), "now": now} for job in jobs]
        conn.executemany(Q["insert_job"], rows)

    def _member_key_page(self, params: dict[str, Any]) -> list[str]:
        with self._lock:  # plain tuples: this reads millions of keys
            cursor = self._conn.cursor()
            cursor.row_factory = None
            return [row[0] for row in cursor.execute(AQ["member_keys"], params)]

    def _ack(self, query: str, params: list[dict[str, Any]]) -> int:
        if not params:
            return 0
        with self._write() as conn:
            return conn.executemany(query, params).rowcount

    def dead_letter(self, items: Sequence[tuple[int, str]], *, now: float) -> int:
        return self._ack(Q["dead_letter"], [{"id": id_, "reason": why} for id_, why in items])

    def replay_dead(
        self, *, ids: Sequence[int] | None = None, destination: str | None = None, now: float
    ) -> int:
        if ids is None:
            with self._write() as conn:
                return conn.execute(
                    Q["replay_dead"], {"destination": destination, "now": now}
                ).rowcount
        params = [{"id": id_, "destination": destination, "now": now} for id_ in ids]
        return self._ack(Q["replay_dead_job"], params)

    def purge_dead(
        self, *, ids: Sequence[int] | None = None, destination: str | None = None
    ) -> int:
        if ids is None:
            with self._write() as conn:
                return conn.execute(Q["purge_dead"], {"destination": destination}).rowcount
        params = [{"id": id_, "destination": destination} for id_ in ids]
        return self._ack(Q["purge_dead_job"], params)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def commit_sync_batch(
        self, name: str, events: Sequence[IncomingEvent], *, state: SyncState, now: float
    ) -> SyncCommit:
        with self._write() as conn:
            accepted = _commit_bulk(conn, events, now, traced=False) if events else []
            note_events(conn, events, accepted, now)  # a sync's rows are counted too
            conn.execute(
                Q["put_sync_state"],
                {"name": name, "cursor": state.cursor, "generation": state.generation, "now": now},
            )
            last = conn.execute(Q["last_job_id"]).fetchone()[0]
        return SyncCommit(accepted=accepted, last_job_id=last)
