"""The custom audiences of the SQL stores (see `xconduit.outbox.audience_store.AudienceStore`).

The tables of migration 0003, the queries in `sql/<dialect>/audiences.sql`. What differs by
dialect is in the store: how jobs go in (`_insert_jobs`), how a page of member keys is read
(`_member_key_page`) and how members are written (`Dialect.member`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

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
from xconduit.outbox.audience_store import AudienceDelivery, Delivered
from xconduit.outbox.jobs import DeliveryJob, NewJob
from xconduit.outbox.sql_base import SqlAccess, change

_INSERT_CHUNK = 10_000


class SqlAudienceAccess(SqlAccess, Protocol):
    def _insert_jobs(self, conn: Any, jobs: Sequence[NewJob], now: float) -> None:
        """Enqueue jobs, pending and due at once, inside the caller's transaction."""
        ...

    def _member_key_page(self, params: dict[str, Any]) -> list[str]:
        """The keys of `member_keys`' page."""
        ...


def as_bytes(value: str | bytes) -> bytes:
    # SQLite stores members as TEXT (its JSON functions read it); changes as BLOB.
    return value.encode() if isinstance(value, str) else bytes(value)


def record(row: Sequence[Any]) -> AudienceRecord:
    name, account_id, audience_id, x_name, recorded_at, members, flushed, ran, problem = row
    return AudienceRecord(
        name=name,
        account_id=account_id,
        audience_id=audience_id,
        x_name=x_name,
        recorded_at=float(recorded_at),
        members=int(members),
        last_flush_at=None if flushed is None else float(flushed),
        last_run_at=None if ran is None else float(ran),
        problem=problem,
    )


def enqueue_changes_in(
    queries: Mapping[str, str], conn: Any, changes: Iterable[AudienceChange], now: float
) -> None:
    """Coalesce changes into the pending ones, inside the caller's transaction."""
    for one in changes:
        params = {
            "audience": one.audience,
            "user_key": one.user_key,
            "op": one.op,
            "payload": one.payload,
            "now": now,
            "version": next_version(),
        }
        conn.execute(queries["settle_change"], params)
        conn.execute(queries["upsert_change"], params)


def _many(cursor: Any, query: str, rows: Sequence[Mapping[str, Any]]) -> int:
    """`executemany`; the rows it changed."""
    if not rows:
        return 0
    cursor.executemany(query, rows)
    return max(int(cursor.rowcount), 0)


class SqlAudiences(AudienceDelivery):
    """Audience methods of the SQL stores."""

    def audience_record(self: SqlAccess, name: str) -> AudienceRecord | None:
        rows = self._read(self._dialect.audiences["audience_record"], {"name": name})
        return record(rows[0]) if rows else None

    def audience_records(self: SqlAccess) -> list[AudienceRecord]:
        return [record(row) for row in self._read(self._dialect.audiences["audience_records"], {})]

    def record_audience(
        self: SqlAccess, *, name: str, account_id: str, audience_id: str, x_name: str, now: float
    ) -> AudienceRecord:
        aq = self._dialect.audiences
        params = {"account_id": account_id, "audience_id": audience_id, "x_name": x_name}
        with self._write() as conn:
            conn.execute(aq["record_audience"], {"name": name, "now": now, **params})
            row = conn.execute(aq["audience_record"], {"name": name}).fetchone()
        assert row is not None
        return record(row)

    def move_audience(
        self: SqlAccess, name: str, *, audience_id: str, x_name: str, now: float
    ) -> AudienceRecord:
        aq = self._dialect.audiences
        params = {
            "name": name,
            "audience_id": audience_id,
            "x_name": x_name,
            "now": now,
            "destination": audience_destination(name),
        }
        with self._write() as conn:
            conn.execute(aq["move_audience"], params)
            conn.execute(aq["move_audience_jobs"], params)
            row = conn.execute(aq["audience_record"], {"name": name}).fetchone()
        assert row is not None
        return record(row)

    def note_audience_run(self: SqlAccess, name: str, *, now: float) -> None:
        change(self, self._dialect.audiences["note_audience_run"], {"name": name, "now": now})

    def enqueue_audience_changes(
        self: SqlAccess, changes: Sequence[AudienceChange], *, now: float
    ) -> None:
        if changes:
            with self._write() as conn:
                enqueue_changes_in(self._dialect.audiences, conn, changes, now)

    def replace_audience_changes(
        self: SqlAccess,
        audience: str,
        changes: Iterable[tuple[str, ChangeOp, bytes]],
        *,
        now: float,
    ) -> int:
        aq, count = self._dialect.audiences, 0
        with self._write() as conn:
            row = conn.execute(aq["pending_summary"], {"audience": audience}).fetchone()
            since = now if row is None or row[1] is None else min(float(row[1]), now)
            conn.execute(aq["clear_changes"], {"audience": audience})
            cursor = conn.cursor()
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
                    cursor.executemany(aq["insert_change"], chunk)
                    count += len(chunk)
                    chunk = []
            if chunk:
                cursor.executemany(aq["insert_change"], chunk)
            count += len(chunk)
        return count

    def audience_pending(self: SqlAccess, audience: str) -> tuple[int, float | None]:
        rows = self._read(self._dialect.audiences["pending_summary"], {"audience": audience})
        count, since = rows[0]
        return int(count), None if since is None else float(since)

    def pending_audience_changes(
        self: SqlAccess, audience: str, *, limit: int
    ) -> list[PendingChange]:
        params = {"audience": audience, "limit": limit}
        rows = self._read(self._dialect.audiences["pending_changes"], params)
        return [
            PendingChange(user_key=r[0], op=r[1], payload=as_bytes(r[2]), version=r[3])
            for r in rows
        ]

    def audience_changes_to_jobs(
        self: SqlAudienceAccess,
        audience: str,
        taken: Sequence[tuple[str, int]],
        jobs: Sequence[NewJob],
        *,
        now: float,
    ) -> int:
        """Enqueue `jobs` and drop the changes they carry, in one transaction; 0 and nothing
        written when one of them changed or was taken since it was read (see the protocol)."""
        keys = [{"audience": audience, "user_key": k, "version": v} for k, v in taken]
        try:
            with self._write() as conn:
                cursor = conn.cursor()
                cursor.executemany(self._dialect.audiences["take_change"], keys)
                if cursor.rowcount != len(taken):
                    raise ChangesMoved  # rolls the transaction back
                self._insert_jobs(conn, jobs, now)
        except ChangesMoved:
            return 0
        return len(jobs)

    def claim_audience_job(
        self: SqlAccess, destination: str, *, now: float, lease_seconds: float
    ) -> DeliveryJob | None:
        params = {"destination": destination, "now": now, "lease_until": now + lease_seconds}
        with self._write() as conn:
            row = conn.execute(self._dialect.audiences["claim_audience_job"], params).fetchone()
        return None if row is None else self._dialect.job(row)

    def active_audience_jobs(self: SqlAccess, destination: str) -> int:
        rows = self._read(self._dialect.audiences["active_jobs"], {"destination": destination})
        return int(rows[0][0])

    def _apply_delivered(self: SqlAccess, done: Delivered) -> int:
        """Mark the job delivered and apply its users to the members, in one transaction."""
        dialect, aq = self._dialect, self._dialect.audiences
        job_id, audience, now = done.job_id, done.audience, done.now
        added, removed, deleted_ids = done.added, done.removed, done.deleted_ids
        with self._write() as conn:
            params = {"ids": dialect.ids([job_id]), "now": now}
            if conn.execute(dialect.queries["mark_delivered"], params).rowcount == 0:
                return 0
            every = dialect.ids([*removed, *(k for k, _ in added)])
            found = conn.execute(aq["member_payloads"], {"audience": audience, "keys": every})
            old = {r[0]: r[1] for r in found}
            forget, index = member_id_changes(audience, old, added, removed)
            cursor = conn.cursor()
            _many(cursor, aq["delete_member_id"], forget)
            keys = [{"audience": audience, "user_key": k} for k in removed]
            gone = _many(cursor, aq["remove_member"], keys)
            if deleted_ids:  # X applied the Delete before the Update: new members keep theirs
                pairs = dialect.pairs(deleted_ids)
                conn.execute(aq["mark_resend"], {"audience": audience, **pairs})
            rows = [
                {"audience": audience, "user_key": k, "payload": dialect.member(p), "now": now}
                for k, p in added
            ]
            new = _many(cursor, aq["add_member"], rows)
            # Members sent again: their identifiers and send time (new ones have them already).
            _many(cursor, aq["update_member"], [r for r in rows if r["user_key"] in old])
            _many(cursor, aq["insert_member_id"], index)
            conn.execute(aq["note_flush"], {"name": audience, "delta": new - gone, "now": now})
        return 1

    def audience_member_keys(
        self: SqlAudienceAccess, audience: str, *, page: int = 100_000
    ) -> Iterator[list[str]]:
        after = ""
        while True:
            keys = self._member_key_page({"audience": audience, "after": after, "limit": page})
            if not keys:
                return
            yield keys
            after = keys[-1]

    def audience_member_count(self: SqlAccess, audience: str) -> int:
        rows = self._read(self._dialect.audiences["count_members"], {"audience": audience})
        return int(rows[0][0])

    def suppressed_audience_members(
        self: SqlAccess, audience: str, *, user_keys: Sequence[str], hashes: Sequence[str]
    ) -> list[tuple[str, bytes]]:
        ids = self._dialect.ids
        params = {"audience": audience, "keys": ids(user_keys), "hashes": ids(hashes)}
        rows = self._read(self._dialect.audiences["suppressed_members"], params)
        return [(row[0], as_bytes(row[1])) for row in rows]

    def shared_audience_ids(
        self: SqlAccess, audience: str, pairs: Sequence[tuple[str, str]], *, excluded: Sequence[str]
    ) -> set[tuple[str, str]]:
        if not pairs:
            return set()
        dialect = self._dialect
        params = {"audience": audience, **dialect.pairs(pairs), "excluded": dialect.ids(excluded)}
        rows = self._read(dialect.audiences["shared_ids"], params)
        return {(row[0], row[1]) for row in rows}

    def queue_audience_refresh(self: SqlAccess, audience: str, *, before: float, now: float) -> int:
        params = {"audience": audience, "before": before, "now": now, "version": next_version()}
        return change(self, self._dialect.audiences["queue_refresh"], params)

    def note_audience_problem(self: SqlAccess, name: str, problem: str | None) -> None:
        params = {"name": name, "problem": problem}
        change(self, self._dialect.audiences["note_problem"], params)

    def active_audience_payloads(self: SqlAccess, destination: str) -> list[bytes]:
        rows = self._read(self._dialect.audiences["active_payloads"], {"destination": destination})
        return [as_bytes(row[0]) for row in rows]
