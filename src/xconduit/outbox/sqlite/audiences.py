"""The custom-audience part of `SqliteStore` (see `xconduit.outbox.audiences.AudienceStore`).

A mixin: it uses the store's connection, lock and `_write`/`_read`, and adds the tables of
migration 0003. Queries are the named queries of `sql/sqlite/audiences.sql`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

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
from xconduit.outbox.jobs import DeliveryJob, JobStatus, NewJob
from xconduit.outbox.sql import load_queries

Q = load_queries("sqlite")
AQ = load_queries("sqlite", "audiences.sql")
_INSERT_CHUNK = 10_000


def _bytes(value: str | bytes) -> bytes:
    # Members are stored as TEXT (SQLite's JSON functions read it); changes as BLOB.
    return value.encode() if isinstance(value, str) else bytes(value)


def _record(row: Sequence[Any]) -> AudienceRecord:
    return AudienceRecord(
        name=row[0],
        account_id=row[1],
        audience_id=row[2],
        x_name=row[3],
        recorded_at=float(row[4]),
        members=int(row[5]),
        last_flush_at=None if row[6] is None else float(row[6]),
        last_run_at=None if row[7] is None else float(row[7]),
        problem=row[8],
    )


def _pairs(pairs: Sequence[tuple[str, str]]) -> str:
    return json.dumps([list(p) for p in pairs])


def enqueue_changes(
    conn: sqlite3.Connection, changes: Iterable[AudienceChange], now: float
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


class SqliteAudienceMixin:
    """Audience methods of `SqliteStore`."""

    _conn: sqlite3.Connection
    _lock: threading.Lock

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _read(self, query: str, params: dict[str, Any]) -> list[sqlite3.Row]:
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
        with self._write() as conn:
            conn.execute(AQ["record_audience"], params)
            row = conn.execute(AQ["audience_record"], {"name": name}).fetchone()
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
        with self._write() as conn:
            conn.execute(AQ["move_audience"], params)
            conn.execute(AQ["move_audience_jobs"], params)
            row = conn.execute(AQ["audience_record"], {"name": name}).fetchone()
        assert row is not None
        return _record(row)

    def note_audience_run(self, name: str, *, now: float) -> None:
        with self._write() as conn:
            conn.execute(AQ["note_audience_run"], {"name": name, "now": now})

    def enqueue_audience_changes(self, changes: Sequence[AudienceChange], *, now: float) -> None:
        if changes:
            with self._write() as conn:
                enqueue_changes(conn, changes, now)

    def replace_audience_changes(
        self, audience: str, changes: Iterable[tuple[str, ChangeOp, bytes]], *, now: float
    ) -> int:
        count = 0
        with self._write() as conn:
            oldest = conn.execute(AQ["pending_summary"], {"audience": audience}).fetchone()[1]
            since = now if oldest is None else min(float(oldest), now)
            conn.execute(AQ["clear_changes"], {"audience": audience})
            chunk: list[dict[str, Any]] = []
            for user_key, op, payload in changes:
                chunk.append(
                    {
                        "audience": audience,
                        "user_key": user_key,
                        "op": op,
                        "payload": payload,
                        "now": since,
                        "version": next_version(),
                    }
                )
                if len(chunk) >= _INSERT_CHUNK:
                    conn.executemany(AQ["insert_change"], chunk)
                    count += len(chunk)
                    chunk = []
            conn.executemany(AQ["insert_change"], chunk)
            count += len(chunk)
        return count

    def audience_pending(self, audience: str) -> tuple[int, float | None]:
        count, since = self._read(AQ["pending_summary"], {"audience": audience})[0]
        return int(count), None if since is None else float(since)

    def pending_audience_changes(self, audience: str, *, limit: int) -> list[PendingChange]:
        rows = self._read(AQ["pending_changes"], {"audience": audience, "limit": limit})
        return [
            PendingChange(user_key=r[0], op=r[1], payload=_bytes(r[2]), version=r[3]) for r in rows
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
            return self._changes_to_jobs(audience, taken, jobs, now=now, insert=Q["insert_job"])
        except ChangesMoved:
            return 0

    def _changes_to_jobs(
        self,
        audience: str,
        taken: Sequence[tuple[str, int]],
        jobs: Sequence[NewJob],
        *,
        now: float,
        insert: str,
    ) -> int:
        with self._write() as conn:
            dropped = conn.executemany(
                AQ["take_change"],
                [{"audience": audience, "user_key": k, "version": v} for k, v in taken],
            ).rowcount
            if dropped != len(taken):
                raise ChangesMoved  # rolls the transaction back
            conn.executemany(
                insert,
                [
                    {
                        "destination": job.destination,
                        "account_id": job.account_id,
                        "pixel_id": job.pixel_id,
                        "message_id": job.message_id,
                        "conversion_id": job.conversion_id,
                        "payload": job.payload,
                        "owner": job.owner,
                        "now": now,
                    }
                    for job in jobs
                ],
            )
        return len(jobs)

    def claim_audience_job(
        self, destination: str, *, now: float, lease_seconds: float
    ) -> DeliveryJob | None:
        params = {"destination": destination, "now": now, "lease_until": now + lease_seconds}
        with self._write() as conn:
            row = conn.execute(AQ["claim_audience_job"], params).fetchone()
        if row is None:
            return None
        values = dict(row)
        values["status"] = JobStatus(values["status"])
        values["payload"] = bytes(values["payload"])
        for name in ("created_at", "next_attempt_at", "lease_until", "delivered_at"):
            if values[name] is not None:
                values[name] = float(values[name])
        return DeliveryJob(**values)

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
        with self._write() as conn:
            moved = conn.execute(Q["mark_delivered"], {"ids": json.dumps([job_id]), "now": now})
            if moved.rowcount == 0:
                return 0
            every = json.dumps([*removed, *(k for k, _ in added)])
            old = {
                r[0]: r[1]
                for r in conn.execute(AQ["member_payloads"], {"audience": audience, "keys": every})
            }
            forget, index = member_id_changes(audience, old, added, removed)
            conn.executemany(AQ["delete_member_id"], forget)
            keys = [{"audience": audience, "user_key": k} for k in removed]
            gone = conn.executemany(AQ["remove_member"], keys).rowcount
            if deleted_ids:  # X applied the Delete before the Update: new members keep theirs
                conn.execute(
                    AQ["mark_resend"], {"audience": audience, "pairs": _pairs(deleted_ids)}
                )
            rows = [
                {"audience": audience, "user_key": k, "payload": p.decode(), "now": now}
                for k, p in added
            ]
            new = conn.executemany(AQ["add_member"], rows).rowcount
            # Members sent again: their identifiers and send time (new ones have them already).
            conn.executemany(AQ["update_member"], [r for r in rows if r["user_key"] in old])
            conn.executemany(AQ["insert_member_id"], index)
            delta = max(new, 0) - max(gone, 0)
            conn.execute(AQ["note_flush"], {"name": audience, "delta": delta, "now": now})
        return 1

    def audience_member_keys(self, audience: str, *, page: int = 100_000) -> Iterator[list[str]]:
        after = ""
        while True:
            params = {"audience": audience, "after": after, "limit": page}
            with self._lock:  # plain tuples: this reads millions of keys
                cursor = self._conn.cursor()
                cursor.row_factory = None
                keys = [row[0] for row in cursor.execute(AQ["member_keys"], params)]
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
            {
                "audience": audience,
                "keys": json.dumps(list(user_keys)),
                "hashes": json.dumps(list(hashes)),
            },
        )
        return [(row[0], _bytes(row[1])) for row in rows]

    def shared_audience_ids(
        self, audience: str, pairs: Sequence[tuple[str, str]], *, excluded: Sequence[str]
    ) -> set[tuple[str, str]]:
        if not pairs:
            return set()
        rows = self._read(
            AQ["shared_ids"],
            {"audience": audience, "pairs": _pairs(pairs), "excluded": json.dumps(list(excluded))},
        )
        return {(row[0], row[1]) for row in rows}

    def queue_audience_refresh(self, audience: str, *, before: float, now: float) -> int:
        params = {"audience": audience, "before": before, "now": now, "version": next_version()}
        with self._write() as conn:
            return int(conn.execute(AQ["queue_refresh"], params).rowcount)

    def note_audience_problem(self, name: str, problem: str | None) -> None:
        with self._write() as conn:
            conn.execute(AQ["note_problem"], {"name": name, "problem": problem})

    def active_audience_payloads(self, destination: str) -> list[bytes]:
        rows = self._read(AQ["active_payloads"], {"destination": destination})
        return [_bytes(row[0]) for row in rows]
