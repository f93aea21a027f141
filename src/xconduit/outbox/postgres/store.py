"""The PostgreSQL outbox: one database shared by every collector and worker of a fleet.

A pool of connections (psycopg_pool) serves the threads of a process; each call is one short
transaction. New jobs go in by COPY, payloads into `job_payloads` (written once) and their
narrow mutable state into `job_state`, so a claim or an ack rewrites a small row and never the
payload. Claims lock the rows they take with `FOR UPDATE SKIP LOCKED`: several workers claim
side by side without waiting on one another or taking the same job twice, and a job whose
worker died comes back when its lease expires (`next_attempt_at` is the lease end).

When the server restarts, the pool checks each connection before lending it and opens new ones,
so processes carry on by themselves; calls made while it is down raise `StoreError` (the
collector answers 503, clients retry).
"""

from __future__ import annotations

import select
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from xconduit.errors import StoreError
from xconduit.outbox.audience_breakdown import PostgresBreakdown
from xconduit.outbox.budget import SharedLedger
from xconduit.outbox.check_runs import SqlCheckRuns
from xconduit.outbox.hours import PostgresHours
from xconduit.outbox.jobs import Claim, DeliveryJob, IncomingEvent, JobStatus, NewJob
from xconduit.outbox.legs import PostgresLegs
from xconduit.outbox.postgres.counts import add_counts, note_events, write_recent
from xconduit.outbox.postgres.sync_runs import PostgresSyncRuns
from xconduit.outbox.postgres.text import pg_text as _text
from xconduit.outbox.postgres.text import pg_untext as _untext
from xconduit.outbox.postgres.waiting import PostgresWaiting
from xconduit.outbox.sql import load_migrations, load_queries
from xconduit.outbox.sql_audiences import SqlAudiences, enqueue_changes_in
from xconduit.outbox.sql_base import Dialect, SqlJobs
from xconduit.outbox.sql_counts import SqlCounts
from xconduit.outbox.syncs import SyncCommit, SyncState

Q = load_queries("postgresql")
AQ = load_queries("postgresql", "audiences.sql")
enqueue_changes = partial(enqueue_changes_in, AQ)
"""Coalesce audience changes into the pending ones, inside the caller's transaction."""


def migrate(conn: psycopg.Connection[Any]) -> int:
    """Apply the migrations this schema lacks, each in its own transaction; the new version.

    Safe when several processes open a new database at once: an advisory lock serialises them.
    """
    migrations = load_migrations("postgresql")
    version = 0
    for migration in migrations:
        with conn.transaction():
            conn.execute(Q["migration_lock"])
            if _one(conn, Q["has_schema_version"]):
                version = _one(conn, Q["schema_version"])
            if version >= migration.version:
                continue
            conn.execute(migration.sql.encode())  # a script: no parameters, several statements
            conn.execute(
                Q["record_migration"], {"version": migration.version, "name": migration.name}
            )
            version = migration.version
    if _one(conn, Q["has_schema_version"]):
        version = _one(conn, Q["schema_version"])
    if version > migrations[-1].version:
        raise StoreError(
            f"the database is at schema version {version}, newer than this xconduit knows "
            f"({migrations[-1].version}); upgrade xconduit"
        )
    return version


def _one(conn: psycopg.Connection[Any], query: str) -> Any:
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def _job(row: Sequence[Any]) -> DeliveryJob:
    """A row in the column order of `claim_batch` / `list_dead` as a job."""
    return DeliveryJob(
        id=row[0],
        destination=_untext(row[1]),
        account_id=_untext(row[2]),
        pixel_id=_untext(row[3]),
        message_id=_untext(row[4]),
        conversion_id=_untext(row[5]),
        payload=bytes(row[6]),
        status=JobStatus(row[7]),
        attempts=row[8],
        created_at=row[9],
        next_attempt_at=row[10],
        lease_until=row[11],
        last_error=None if row[12] is None else _untext(row[12]),
        delivered_at=row[13],
        owner=row[14] if len(row) > 14 else "",
        conversion_time=row[15] if len(row) > 15 else "",
    )


def _chosen(ids: Sequence[int] | None, destination: str | None) -> dict[str, Any]:
    """The dead letters chosen by `replay_dead` and `purge_dead`, as parameters."""
    return {
        "ids": None if ids is None else list(ids),
        "destination": None if destination is None else _text(destination),
    }


POSTGRESQL = Dialect(
    name="postgresql",
    job=_job,
    ids=list,
    add_counts=add_counts,
    write_recent=write_recent,
    pairs=lambda pairs: {"keys": [k for k, _ in pairs], "values": [v for _, v in pairs]},
    text=_text,
    untext=_untext,
)


def _redacted(url: str) -> str:
    """The URL without its password, for error messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the configured database"
    return f"postgresql://{info.get('user', '')}@{info.get('host', '')}/{info.get('dbname', '')}"


def _check_idle(conn: psycopg.Connection[Any]) -> None:
    """The pool's check of a connection it hands out, without a round trip when it can: an idle
    connection has nothing to read unless the server closed it (a restart sends an error, then
    EOF), so only then is it pinged (`check_connection` raises and the pool reconnects). A ping
    on every checkout cost ~6 % of a collector's CPU and a round trip per commit."""
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    if _readable(conn.fileno()):
        ConnectionPool.check_connection(conn)


def _readable(fd: int) -> bool:
    """Whether `fd` has something to read now. `poll` where there is one: `select` refuses
    descriptors above 1,023, which a busy collector's connections can reach."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])


class PostgresStore(
    SqlJobs,
    SqlCounts,
    SqlAudiences,
    SharedLedger,
    SqlCheckRuns,
    PostgresSyncRuns,
    PostgresBreakdown,
    PostgresLegs,
    PostgresHours,
    PostgresWaiting,
):
    """The outbox in a PostgreSQL database (see `xconduit.outbox.Store` for each method)."""

    _dialect = POSTGRESQL

    def __init__(self, url: str, *, max_connections: int = 8, timeout: float = 10.0) -> None:
        self.url = url
        self._where = _redacted(url)
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            timeout=timeout,
            check=_check_idle,
            kwargs={"autocommit": True},
            open=False,
            name="xconduit-outbox",
        )
        try:
            self._pool.open(wait=True, timeout=timeout)
            with self._pool.connection() as conn:
                self.schema_version = migrate(conn)
        except (psycopg.Error, PoolTimeout) as error:
            self._pool.close()
            raise StoreError(f"cannot open the outbox at {self._where}: {error}") from error

    @contextmanager
    def _tx(self, *, pipeline: bool = False) -> Iterator[psycopg.Connection[Any]]:
        """One transaction on a pooled connection; a database error becomes `StoreError`.
        `pipeline`: statements whose results are not read go out together with the next read
        or the commit, in one round trip (errors then surface there)."""
        try:
            with self._pool.connection() as conn:
                if pipeline:
                    with conn.pipeline(), conn.transaction():
                        yield conn
                else:
                    with conn.transaction():
                        yield conn
        except (psycopg.Error, PoolTimeout) as error:
            raise StoreError(f"outbox at {self._where} failed: {error}") from error

    _write = _tx

    def _read(self, query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        with self._tx() as conn:
            return conn.execute(query, params).fetchall()

    def _change(self, query: str, params: dict[str, Any]) -> int:
        with self._tx() as conn:
            return conn.execute(query, params).rowcount

    def commit_events(
        self, events: Sequence[IncomingEvent], *, now: float, recent: bool = True
    ) -> list[bool]:
        if not events:
            return []
        with self._tx(pipeline=True) as conn:
            accepted = self._commit_in(conn, events, now, traced=True)
            note_events(conn, events, accepted, now, recent=recent)
        return accepted

    def _commit_in(
        self,
        conn: psycopg.Connection[Any],
        events: Sequence[IncomingEvent],
        now: float,
        *,
        traced: bool,
    ) -> list[bool]:
        """Remember the events, insert the jobs of the new ones and queue their audience
        changes, inside the caller's transaction; per event, whether it was new. `traced`: the
        live debugger may look the jobs up (the collector's; a sync's are not)."""
        jobs = [(n, job) for n, event in enumerate(events, 1) for job in event.jobs]
        params = {
            "sources": [_text(event.source) for event in events],
            "message_ids": [_text(event.message_id) for event in events],
            "now": now,
            "traced": traced,
            "job_events": [n for n, _ in jobs],
            "destinations": [_text(job.destination) for _, job in jobs],
            "accounts": [_text(job.account_id) for _, job in jobs],
            "pixels": [_text(job.pixel_id) for _, job in jobs],
            "job_messages": [_text(job.message_id) for _, job in jobs],
            "conversions": [_text(job.conversion_id) for _, job in jobs],
            "payloads": [job.payload for _, job in jobs],
            "owners": [job.owner for _, job in jobs],
            "priorities": [job.priority for _, job in jobs],
            "times": [job.conversion_time for _, job in jobs],
        }
        fresh = {row[0] for row in conn.execute(Q["commit_batch"], params).fetchall()}
        accepted = [n in fresh for n in range(1, len(events) + 1)]
        for event, new in zip(events, accepted, strict=True):
            if new and event.audience_changes:
                enqueue_changes(conn, event.audience_changes, now)
        return accepted

    def _insert_jobs(
        self, conn: psycopg.Connection[Any], jobs: Sequence[NewJob], now: float
    ) -> None:
        """COPY new jobs in, pending and due at once, inside the caller's transaction."""
        if not jobs:
            return
        ids = [row[0] for row in conn.execute(Q["next_job_ids"], {"count": len(jobs)})]
        with conn.cursor().copy(Q["copy_payloads"]) as copy:
            for id_, job in zip(ids, jobs, strict=True):
                texts = (job.destination, job.account_id, job.pixel_id, job.message_id)
                copy.write_row((id_, *map(_text, texts), _text(job.conversion_id), job.payload))
        with conn.cursor().copy(Q["copy_states"]) as copy:
            for id_, job in zip(ids, jobs, strict=True):
                state = (id_, _text(job.destination), "pending", 0, now, now, job.owner)
                copy.write_row((*state, job.priority, job.conversion_time))

    def _member_key_page(self, params: dict[str, Any]) -> list[str]:
        return [row[0] for row in self._read(AQ["member_keys"], params)]

    def _claim_in(self, conn: psycopg.Connection[Any], claim: Claim) -> list[DeliveryJob]:
        if claim.limit <= 0:
            return []
        params = claim.params(_text(claim.destination))
        return [_job(row) for row in conn.execute(Q["claim_batch"], params).fetchall()]

    def dead_letter(self, items: Sequence[tuple[int, str]], *, now: float) -> int:
        if not items:
            return 0
        params = {"ids": [i for i, _ in items], "reasons": [_text(r) for _, r in items]}
        return self._change(Q["dead_letter"], params)

    def replay_dead(
        self, *, ids: Sequence[int] | None = None, destination: str | None = None, now: float
    ) -> int:
        if ids is not None and not ids:
            return 0
        return self._change(Q["replay_dead"], {**_chosen(ids, destination), "now": now})

    def purge_dead(
        self, *, ids: Sequence[int] | None = None, destination: str | None = None
    ) -> int:
        if ids is not None and not ids:
            return 0
        return self._change(Q["purge_dead"], _chosen(ids, destination))

    def close(self) -> None:
        self._pool.close()

    def commit_sync_batch(
        self, name: str, events: Sequence[IncomingEvent], *, state: SyncState, now: float
    ) -> SyncCommit:
        with self._tx(pipeline=True) as conn:
            accepted = self._commit_in(conn, events, now, traced=False) if events else []
            note_events(conn, events, accepted, now)  # a sync's rows are counted too
            params = {
                "name": name,
                "cursor": state.cursor,
                "generation": state.generation,
                "now": now,
            }
            conn.execute(Q["put_sync_state"], params)
            last = _one(conn, Q["last_job_id"])
        return SyncCommit(accepted=accepted, last_job_id=int(last))
