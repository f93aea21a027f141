"""What the SQL stores share: the methods whose SQL differs by dialect but not their steps.

A store gives its `Dialect` (its named queries and how values are written: text, sets of ids)
and its transaction adapter, `SqlAccess`: `_write` (one write transaction; SQLite's
`BEGIN IMMEDIATE` under the process's lock, PostgreSQL's `_tx` on a pooled connection) and
`_read`. The commit path (`commit_events`, `commit_sync_batch`), the claim and the acks that
send each row stay with the store: there the dialects differ in more than their SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from xconduit.outbox.counts import Count, RecentEvent
from xconduit.outbox.jobs import Claim, DeliveryJob, JobStatus
from xconduit.outbox.sql import load_queries
from xconduit.outbox.sql_budget import SqlLedgerTx
from xconduit.outbox.syncs import Heartbeats, ProcessReport, SyncState

PURGE_CHUNK = 5000
"""Rows per delete transaction, so that a purge never holds the writer for long."""


AddCounts = Callable[[Any, Sequence[Count], float], None]
"""Add counts inside the caller's transaction."""
WriteRecent = Callable[[Any, Sequence[tuple[RecentEvent, float]]], None]
"""Write recent events (each with its commit time), then trim them, in the caller's transaction."""


def same(value: str) -> str:
    return value


@dataclass(frozen=True, kw_only=True, slots=True)
class Dialect:
    """The named queries of one dialect and how its parameters and rows look."""

    name: str
    """Its folder of named queries, `sql/<name>/` ("sqlite", "postgresql")."""
    job: Callable[[Any], DeliveryJob]
    """A row of a job's columns (`list_dead`, `claim_audience_job`) as a job."""
    ids: Callable[[Sequence[Any]], Any]
    """A set of ids or keys as one parameter (SQLite: a JSON array, PostgreSQL: an array)."""
    pairs: Callable[[Sequence[tuple[str, str]]], dict[str, Any]]
    """`(key, value)` pairs as parameters."""
    add_counts: AddCounts
    write_recent: WriteRecent
    member: Callable[[bytes], Any] = bytes
    """An audience member's user object as stored (SQLite: TEXT, for its JSON functions)."""
    text: Callable[[str], str] = same
    """A text value as stored (PostgreSQL's text holds no NUL) and back."""
    untext: Callable[[str], str] = same

    @property
    def queries(self) -> Mapping[str, str]:
        return load_queries(self.name)

    @property
    def budget(self) -> Mapping[str, str]:
        return load_queries(self.name, "budget.sql")

    @property
    def audiences(self) -> Mapping[str, str]:
        return load_queries(self.name, "audiences.sql")

    @property
    def check_runs(self) -> Mapping[str, str]:
        return load_queries(self.name, "check_runs.sql")


class SqlAccess(Protocol):
    """What the shared methods ask of a SQL store."""

    @property
    def _dialect(self) -> Dialect: ...

    def _write(self) -> AbstractContextManager[Any]: ...

    def _read(self, query: str, params: dict[str, Any]) -> Sequence[Any]: ...

    def _claim_in(self, conn: Any, claim: Claim) -> list[DeliveryJob]: ...


def change(db: SqlAccess, query: str, params: dict[str, Any]) -> int:
    """One statement in its own write transaction; the rows it changed."""
    with db._write() as conn:
        return int(conn.execute(query, params).rowcount)


def first(db: SqlAccess, query: str, params: dict[str, Any]) -> Any:
    """The first column of the first row."""
    return db._read(query, params)[0][0]


def ack_set(db: SqlAccess, name: str, ids: Sequence[int], **params: Any) -> int:
    """One statement for the whole set of ids: a batch is up to 500 jobs."""
    if not ids:
        return 0
    return change(db, db._dialect.queries[name], {"ids": db._dialect.ids(ids), **params})


def purge_in_chunks(db: SqlAccess, name: str, older_than: float) -> int:
    total = 0
    while True:
        params = {"older_than": older_than, "limit": PURGE_CHUNK}
        deleted = change(db, db._dialect.queries[name], params)
        total += deleted
        if deleted < PURGE_CHUNK:
            return total


def status_counts(rows: Sequence[Any], untext: Callable[[str], str]) -> dict[Any, Any]:
    """`(key..., status, count)` rows as {key: {status: count}}, one key column or two."""
    counts: dict[Any, dict[JobStatus, int]] = {}
    for *key, status, count in rows:
        found = untext(key[0]) if len(key) == 1 else (untext(key[0]), key[1])
        counts.setdefault(found, {})[JobStatus(status)] = count
    return counts


class SqlJobs(Heartbeats):
    """The `Store` and `SyncStore` methods the SQL stores share."""

    def claim_batch(
        self: SqlAccess,
        destination: str,
        *,
        limit: int,
        now: float,
        lease_seconds: float,
        owner: str = "",
    ) -> list[DeliveryJob]:
        if limit <= 0:
            return []
        with self._write() as conn:
            return self._claim_in(conn, Claim(destination, limit, now, lease_seconds, owner))

    @contextmanager
    def _ledger_tx(self: SqlAccess) -> Iterator[SqlLedgerTx]:
        """The rate ledger's transaction (`xconduit.outbox.budget.SharedLedger`)."""
        with self._write() as conn:
            yield SqlLedgerTx(conn, self._dialect.budget, self._claim_in)

    def mark_delivered(self: SqlAccess, ids: Sequence[int], *, now: float) -> int:
        return ack_set(self, "mark_delivered", ids, now=now)

    def schedule_retry(
        self: SqlAccess, ids: Sequence[int], *, at: float, error: str, now: float
    ) -> int:
        return ack_set(self, "schedule_retry", ids, at=at, error=self._dialect.text(error))

    def release(self: SqlAccess, ids: Sequence[int], *, now: float) -> int:
        return ack_set(self, "release", ids, now=now)

    def next_due_at(self: SqlAccess, destination: str, *, owner: str = "") -> float | None:
        params = {"destination": self._dialect.text(destination), "owner": owner}
        due: float | None = first(self, self._dialect.queries["next_due_at"], params)
        return due

    def job_owners(self: SqlAccess) -> dict[tuple[str, str], dict[JobStatus, int]]:
        rows = self._read(self._dialect.queries["job_owners"], {})
        return status_counts(rows, self._dialect.untext)

    def active_job_owners(self: SqlAccess) -> dict[tuple[str, str], int]:
        rows = self._read(self._dialect.queries["active_job_owners"], {})
        return {(self._dialect.untext(d), o): n for d, o, n in rows}

    def adopt_jobs(
        self: SqlAccess, destination: str, *, owner: str, account_id: str, pixel_id: str
    ) -> int:
        text = self._dialect.text
        params = {
            "destination": text(destination),
            "owner": owner,
            "account_id": text(account_id),
            "pixel_id": text(pixel_id),
        }
        return change(self, self._dialect.queries["adopt_jobs"], params)

    def destinations(self: SqlAccess) -> list[str]:
        rows = self._read(self._dialect.queries["destinations"], {})
        return [self._dialect.untext(row[0]) for row in rows]

    def counts(self: SqlAccess) -> dict[str, dict[JobStatus, int]]:
        return status_counts(self._read(self._dialect.queries["counts"], {}), self._dialect.untext)

    def list_dead(
        self: SqlAccess, *, destination: str | None = None, limit: int = 100
    ) -> list[DeliveryJob]:
        where = None if destination is None else self._dialect.text(destination)
        rows = self._read(
            self._dialect.queries["list_dead"], {"destination": where, "limit": limit}
        )
        return [self._dialect.job(row) for row in rows]

    def purge_delivered(self: SqlAccess, older_than: float) -> int:
        return purge_in_chunks(self, "purge_delivered", older_than)

    def purge_dedup(self: SqlAccess, older_than: float) -> int:
        return purge_in_chunks(self, "purge_dedup", older_than)

    # Warehouse syncs and delivery heartbeats (`xconduit.outbox.syncs.SyncStore`).

    def sync_state(self: SqlAccess, name: str) -> SyncState | None:
        rows = self._read(self._dialect.queries["sync_state"], {"name": name})
        if not rows:
            return None
        return SyncState(cursor=rows[0][0], generation=rows[0][1], updated_at=rows[0][2])

    def last_job_id(self: SqlAccess) -> int:
        return int(first(self, self._dialect.queries["last_job_id"], {}))

    def job_counts_between(
        self: SqlAccess, destination: str, first: int, last: int
    ) -> dict[JobStatus, int]:
        params = {"destination": self._dialect.text(destination), "first": first, "last": last}
        rows = self._read(self._dialect.queries["job_counts_between"], params)
        return {JobStatus(status): count for status, count in rows}

    def _put_report(self: SqlAccess, report: ProcessReport) -> None:
        params = {"id": report.id, "kind": report.kind, "host": report.host, "pid": report.pid}
        params |= {"now": report.seen_at, "report": report.report, "owners": report.owners}
        change(self, self._dialect.queries["heartbeat"], params)

    def forget_worker(self: SqlAccess, worker_id: str) -> None:
        change(self, self._dialect.queries["forget_worker"], {"id": worker_id})

    def live_workers(self: SqlAccess, *, since: float, owner: str | None = None) -> int:
        return int(
            first(self, self._dialect.queries["live_workers"], {"since": since, "owner": owner})
        )

    def live_reports(self: SqlAccess, *, since: float) -> list[ProcessReport]:
        rows = self._read(self._dialect.queries["live_reports"], {"since": since})
        return [
            ProcessReport(
                id=r[0], kind=r[1], host=r[2], pid=r[3], seen_at=r[4], report=r[5], owners=r[6]
            )
            for r in rows
        ]
