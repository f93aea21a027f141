"""The custom-audience part of `PostgresStore` (see `xconduit.outbox.audience_store`).

A mixin, like `SqliteAudienceMixin`: it uses the store's `_tx`, `_read` and `_insert_jobs`, and
adds the tables of migration 0003. Queries are the named queries of
`sql/postgresql/audiences.sql`. Member keys sort in byte order (`COLLATE "C"`), as in SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from xconduit.outbox.audience_jobs import (
    AudienceChange,
    AudienceRecord,
    ChangeOp,
    ChangesMoved,
    PendingChange,
    audience_destination,
    member_id_changes,
    next_version,
)
from xconduit.outbox.jobs import DeliveryJob, NewJob
from xconduit.outbox.sql import load_queries

AQ = load_queries("postgresql", "audiences.sql")


def _record(row: Sequence[Any]) -> AudienceRecord:
    return AudienceRecord(
        name=row[0],
        account_id=row[1],
        audience_id=row[2],
        x_name=row[3],
        recorded_at=float(row[4]),
        members=int(row[5]),
        last_flush_at=row[6],
        last_run_at=row[7],
        problem=row[8],
    )


def _pairs(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    return {"keys": [k for k, _ in pairs], "values": [v for _, v in pairs]}


def enqueue_changes(
    conn: psycopg.Connection[Any], changes: Iterable[AudienceChange], now: float
) -> None:
    """Coalesce changes into the pending ones, inside the caller's transaction."""
    for change in changes:
        params = {
            "audience": change.audience,
            "user_key": change.user_key,
            "op": change.op,
            "payload": change.payload,
            "now": now,
            "version": next_version(),
        }
        conn.execute(AQ["settle_change"], params)
        conn.execute(AQ["upsert_change"], params)


class PostgresAudienceMixin:
    """Audience methods of `PostgresStore`."""

    def _tx(self) -> AbstractContextManager[psycopg.Connection[Any]]:
        raise NotImplementedError

    def _read(self, query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _insert_jobs(
        self, conn: psycopg.Connection[Any], jobs: Sequence[NewJob], now: float
    ) -> None:
        raise NotImplementedError

    def _mark_delivered_in(self, conn: psycopg.Connection[Any], ids: list[int], now: float) -> int:
        raise NotImplementedError

    def _job_of(self, row: Sequence[Any]) -> DeliveryJob:
        raise NotImplementedError

    def audience_record(self, name: str) -> AudienceRecord | None:
        rows = self._read(AQ["audience_record"], {"name": name})
        return _record(rows[0]) if rows else None

    def audience_records(self) -> list[AudienceRecord]:
        return [_record(row) for row in self._read(AQ["audience_records"], {})]

    def record_audience(
        self, *, name: str, account_id: str, audience_id: str, x_name: str, now: float
    ) -> AudienceRecord:
        params = {
            "name": name,
            "account_id": account_id,
            "audience_id": audience_id,
            "x_name": x_name,
            "now": now,
        }
        with self._tx() as conn:
            conn.execute(AQ["record_audience"], params)
            row = conn.execute(AQ["audience_record"], {"name": name}).fetchone()
        assert row is not None
        return _record(row)

    def move_audience(
        self, name: str, *, audience_id: str, x_name: str, now: float
    ) -> AudienceRecord:
        params = {
            "name": name,
            "audience_id": audience_id,
            "x_name": x_name,
            "now": now,
            "destination": audience_destination(name),
        }
        with self._tx() as conn:
            conn.execute(AQ["move_audience"], params)
            conn.execute(AQ["move_audience_jobs"], params)
            row = conn.execute(AQ["audience_record"], {"name": name}).fetchone()
        assert row is not None
        return _record(row)

    def note_audience_run(self, name: str, *, now: float) -> None:
        with self._tx() as conn:
            conn.execute(AQ["note_audience_run"], {"name": name, "now": now})

    def enqueue_audience_changes(self, changes: Sequence[AudienceChange], *, now: float) -> None:
        if changes:
            with self._tx() as conn:
                enqueue_changes(conn, changes, now)

    def replace_audience_changes(
        self, audience: str, changes: Iterable[tuple[str, ChangeOp, bytes]], *, now: float
    ) -> int:
        count = 0
        with self._tx() as conn:
            row = conn.execute(AQ["pending_summary"], {"audience": audience}).fetchone()
            since = now if row is None or row[1] is None else min(float(row[1]), now)
            conn.execute(AQ["clear_changes"], {"audience": audience})
            with conn.cursor() as cursor:
                rows = (
                    {
                        "audience": audience,
                        "user_key": user_key,
                        "op": op,
                        "payload": payload,
                        "now": since,
                        "version": next_version(),
                    }
                    for user_key, op, payload in changes
                )
                for row in rows:
                    cursor.execute(AQ["insert_change"], row)
                    count += 1
        return count

    def audience_pending(self, audience: str) -> tuple[int, float | None]:
        count, since = self._read(AQ["pending_summary"], {"audience": audience})[0]
        return int(count), since

    def pending_audience_changes(self, audience: str, *, limit: int) -> list[PendingChange]:
        rows = self._read(AQ["pending_changes"], {"audience": audience, "limit": limit})
        return [
            PendingChange(user_key=r[0], op=r[1], payload=bytes(r[2]), version=r[3]) for r in rows
        ]

    def audience_changes_to_jobs(
        self,
        audience: str,
        taken: Sequence[tuple[str, int]],
        jobs: Sequence[NewJob],
        *,
        now: float,
    ) -> int:
        """Enqueue `jobs` and drop the changes they carry, in one transaction; 0 and nothing
        written when one of them changed or was taken since it was read (see the protocol)."""
        try:
            with self._tx() as conn:
                with conn.cursor() as cursor:
                    cursor.executemany(
                        AQ["take_change"],
                        [{"audience": audience, "user_key": k, "version": v} for k, v in taken],
                    )
                    if cursor.rowcount != len(taken):
                        raise ChangesMoved  # rolls the transaction back
                self._insert_jobs(conn, jobs, now)
        except ChangesMoved:
            return 0
        return len(jobs)

    def claim_audience_job(
        self, destination: str, *, now: float, lease_seconds: float
    ) -> DeliveryJob | None:
        params = {"destination": destination, "now": now, "lease_until": now + lease_seconds}
        rows = self._read(AQ["claim_audience_job"], params)
        return self._job_of(rows[0]) if rows else None

    def active_audience_jobs(self, destination: str) -> int:
        return int(self._read(AQ["active_jobs"], {"destination": destination})[0][0])

    def audience_delivered(
        self,
        job_id: int,
        *,
        audience: str,
        added: Sequence[tuple[str, bytes]],
        removed: Sequence[str],
        now: float,
        deleted_ids: Sequence[tuple[str, str]] = (),
    ) -> int:
        """Mark the job delivered and apply its users to the members, in one transaction."""
        with self._tx() as conn:
            if self._mark_delivered_in(conn, [job_id], now) == 0:
                return 0
            gone = new = 0
            every = [*removed, *(k for k, _ in added)]
            rows = conn.execute(AQ["member_payloads"], {"audience": audience, "keys": every})
            old = {r[0]: bytes(r[1]) for r in rows}
            forget, index = member_id_changes(audience, old, added, removed)
            with conn.cursor() as cursor:
                if forget:
                    cursor.executemany(AQ["delete_member_id"], forget)
                for key in removed:
                    cursor.execute(AQ["remove_member"], {"audience": audience, "user_key": key})
                    gone += cursor.rowcount
                if deleted_ids:  # X applied the Delete before the Update: new members keep theirs
                    cursor.execute(AQ["mark_resend"], {"audience": audience, **_pairs(deleted_ids)})
                for key, payload in added:
                    row = {"audience": audience, "user_key": key, "payload": payload, "now": now}
                    cursor.execute(AQ["add_member"], row)
                    new += cursor.rowcount
                    if key in old:  # sent again: its identifiers and send time
                        cursor.execute(AQ["update_member"], row)
                if index:
                    cursor.executemany(AQ["insert_member_id"], index)
            delta = new - gone
            conn.execute(AQ["note_flush"], {"name": audience, "delta": delta, "now": now})
        return 1

    def audience_member_keys(self, audience: str, *, page: int = 100_000) -> Iterator[list[str]]:
        after = ""
        while True:
            params = {"audience": audience, "after": after, "limit": page}
            keys = [row[0] for row in self._read(AQ["member_keys"], params)]
            if not keys:
                return
            yield keys
            after = keys[-1]

    def audience_member_count(self, audience: str) -> int:
        return int(self._read(AQ["count_members"], {"audience": audience})[0][0])

    def suppressed_audience_members(
        self, audience: str, *, user_keys: Sequence[str], hashes: Sequence[str]
    ) -> list[tuple[str, bytes]]:
        rows = self._read(
            AQ["suppressed_members"],
            {"audience": audience, "keys": list(user_keys), "hashes": list(hashes)},
        )
        return [(row[0], bytes(row[1])) for row in rows]

    def shared_audience_ids(
        self, audience: str, pairs: Sequence[tuple[str, str]], *, excluded: Sequence[str]
    ) -> set[tuple[str, str]]:
        if not pairs:
            return set()
        rows = self._read(
            AQ["shared_ids"], {"audience": audience, **_pairs(pairs), "excluded": list(excluded)}
        )
        return {(row[0], row[1]) for row in rows}

    def queue_audience_refresh(self, audience: str, *, before: float, now: float) -> int:
        params = {"audience": audience, "before": before, "now": now, "version": next_version()}
        with self._tx() as conn:
            return int(conn.execute(AQ["queue_refresh"], params).rowcount)

    def note_audience_problem(self, name: str, problem: str | None) -> None:
        with self._tx() as conn:
            conn.execute(AQ["note_problem"], {"name": name, "problem": problem})

    def active_audience_payloads(self, destination: str) -> list[bytes]:
        rows = self._read(AQ["active_payloads"], {"destination": destination})
        return [bytes(row[0]) for row in rows]
