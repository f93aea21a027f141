"""The custom-audience part of `MemoryStore`: the same behaviour as the SQL stores
(`xconduit.outbox.sql_audiences`)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Iterator, Sequence

import orjson

from xconduit.outbox.audience_jobs import (
    AudienceChange,
    AudienceRecord,
    ChangeOp,
    PendingChange,
    audience_destination,
    next_version,
    user_pairs,
)
from xconduit.outbox.audience_store import AudienceDelivery, Delivered
from xconduit.outbox.jobs import ACTIVE_STATUSES, DeliveryJob, JobStatus, NewJob, pending_job


@dataclasses.dataclass(kw_only=True)
class _Pending:
    op: ChangeOp
    payload: bytes
    since: float
    version: int = dataclasses.field(default_factory=next_version)


class MemoryAudienceMixin(AudienceDelivery):
    """Audience methods of `MemoryStore` (its `_lock`, `_jobs`, `_last_id` are shared)."""

    _lock: threading.Lock
    _jobs: dict[int, DeliveryJob]
    _last_id: int

    def _audience_state(self) -> None:
        if not hasattr(self, "_a_records"):
            self._a_records: dict[str, AudienceRecord] = {}
            self._a_members: dict[str, dict[str, bytes]] = {}
            self._a_pending: dict[str, dict[str, _Pending]] = {}
            self._a_sent: dict[str, dict[str, float | None]] = {}

    def _coalesce(self, changes: Iterable[AudienceChange], now: float) -> None:
        self._audience_state()
        for change in changes:
            member = change.user_key in self._a_members.get(change.audience, {})
            pending = self._a_pending.setdefault(change.audience, {})
            if (change.op == "add") == member:
                pending.pop(change.user_key, None)
                continue
            old = pending.get(change.user_key)
            if old is None:
                pending[change.user_key] = _Pending(op=change.op, payload=change.payload, since=now)
            else:
                old.op, old.payload, old.version = change.op, change.payload, next_version()

    def audience_record(self, name: str) -> AudienceRecord | None:
        with self._lock:
            self._audience_state()
            return self._a_records.get(name)

    def audience_records(self) -> list[AudienceRecord]:
        with self._lock:
            self._audience_state()
            return [self._a_records[name] for name in sorted(self._a_records)]

    def record_audience(
        self, *, name: str, account_id: str, audience_id: str, x_name: str, now: float
    ) -> AudienceRecord:
        with self._lock:
            self._audience_state()
            return self._a_records.setdefault(
                name,
                AudienceRecord(
                    name=name,
                    account_id=account_id,
                    audience_id=audience_id,
                    x_name=x_name,
                    recorded_at=now,
                ),
            )

    def move_audience(
        self, name: str, *, audience_id: str, x_name: str, now: float
    ) -> AudienceRecord:
        destination = audience_destination(name)
        with self._lock:
            self._audience_state()
            record = dataclasses.replace(
                self._a_records[name],
                audience_id=audience_id,
                x_name=x_name,
                recorded_at=now,
                problem=None,
            )
            self._a_records[name] = record
            for job_id, job in list(self._jobs.items()):
                if job.destination == destination and job.status is not JobStatus.DELIVERED:
                    self._jobs[job_id] = dataclasses.replace(job, pixel_id=audience_id)
            return record

    def note_audience_run(self, name: str, *, now: float) -> None:
        with self._lock:
            self._audience_state()
            if name in self._a_records:
                self._a_records[name] = dataclasses.replace(self._a_records[name], last_run_at=now)

    def enqueue_audience_changes(self, changes: Sequence[AudienceChange], *, now: float) -> None:
        with self._lock:
            self._coalesce(changes, now)

    def replace_audience_changes(
        self, audience: str, changes: Iterable[tuple[str, ChangeOp, bytes]], *, now: float
    ) -> int:
        with self._lock:
            self._audience_state()
            waiting = [p.since for p in self._a_pending.get(audience, {}).values()]
            since = min([*waiting, now])
            fresh = {key: _Pending(op=op, payload=p, since=since) for key, op, p in changes}
            self._a_pending[audience] = fresh
            return len(fresh)

    def audience_pending(self, audience: str) -> tuple[int, float | None]:
        with self._lock:
            self._audience_state()
            pending = self._a_pending.get(audience, {})
            return len(pending), min((p.since for p in pending.values()), default=None)

    def pending_audience_changes(self, audience: str, *, limit: int) -> list[PendingChange]:
        with self._lock:
            self._audience_state()
            members = self._a_members.get(audience, {})
            items = sorted(
                self._a_pending.get(audience, {}).items(),
                key=lambda kv: (kv[1].op != "remove", kv[1].since, kv[0]),
            )[:limit]
            return [
                PendingChange(
                    user_key=key,
                    op=p.op,
                    payload=members.get(key, p.payload) if p.op == "remove" else p.payload,
                    version=p.version,
                )
                for key, p in items
            ]

    def audience_changes_to_jobs(
        self, audience: str, taken: Sequence[tuple[str, int]], jobs: Sequence[NewJob], *, now: float
    ) -> int:
        with self._lock:
            self._audience_state()
            pending = self._a_pending.get(audience, {})
            if any(key not in pending or pending[key].version != v for key, v in taken):
                return 0  # one changed or was taken since it was read (see the protocol)
            for key, _ in taken:
                del pending[key]
            for new in jobs:
                self._last_id += 1
                self._jobs[self._last_id] = pending_job(self._last_id, new, now)
        return len(jobs)

    def claim_audience_job(
        self, destination: str, *, now: float, lease_seconds: float
    ) -> DeliveryJob | None:
        with self._lock:
            active = [
                j
                for j in self._jobs.values()
                if j.destination == destination and j.status in ACTIVE_STATUSES
            ]
            if not active:
                return None
            job = min(active, key=lambda j: j.id)
            if job.next_attempt_at > now:
                return None
            lease = now + lease_seconds
            job = dataclasses.replace(
                job,
                status=JobStatus.IN_FLIGHT,
                attempts=job.attempts + 1,
                lease_until=lease,
                next_attempt_at=lease,
            )
            self._jobs[job.id] = job
            return job

    def active_audience_jobs(self, destination: str) -> int:
        with self._lock:
            return sum(
                1
                for j in self._jobs.values()
                if j.destination == destination and j.status in ACTIVE_STATUSES
            )

    def _apply_delivered(self, done: Delivered) -> int:
        job_id, audience, now = done.job_id, done.audience, done.now
        added, removed, deleted_ids = done.added, done.removed, done.deleted_ids
        with self._lock:
            self._audience_state()
            job = self._jobs.get(job_id)
            if job is None or job.status is not JobStatus.IN_FLIGHT:
                return 0
            self._jobs[job_id] = dataclasses.replace(
                job, status=JobStatus.DELIVERED, delivered_at=now, lease_until=None
            )
            members = self._a_members.setdefault(audience, {})
            sent = self._a_sent.setdefault(audience, {})
            for key in removed:
                members.pop(key, None)
                sent.pop(key, None)
            deleted = set(deleted_ids)
            for key, payload in members.items():
                if deleted and user_pairs(payload) & deleted:
                    sent[key] = None
            for key, payload in added:
                members[key] = payload
                sent[key] = now
            if audience in self._a_records:
                self._a_records[audience] = dataclasses.replace(
                    self._a_records[audience], members=len(members), last_flush_at=now
                )
        return 1

    def audience_member_keys(self, audience: str, *, page: int = 100_000) -> Iterator[list[str]]:
        with self._lock:
            self._audience_state()
            keys = sorted(self._a_members.get(audience, {}))
        for start in range(0, len(keys), page):
            yield keys[start : start + page]

    def audience_member_count(self, audience: str) -> int:
        with self._lock:
            self._audience_state()
            return len(self._a_members.get(audience, {}))

    def suppressed_audience_members(
        self, audience: str, *, user_keys: Sequence[str], hashes: Sequence[str]
    ) -> list[tuple[str, bytes]]:
        keys, wanted = set(user_keys), set(hashes)
        with self._lock:
            self._audience_state()
            found = []
            for key, payload in self._a_members.get(audience, {}).items():
                values = {v for vs in orjson.loads(payload).values() for v in vs}
                if key in keys or values & wanted:
                    found.append((key, payload))
            return found

    def shared_audience_ids(
        self, audience: str, pairs: Sequence[tuple[str, str]], *, excluded: Sequence[str]
    ) -> set[tuple[str, str]]:
        wanted, skip = set(pairs), set(excluded)
        with self._lock:
            self._audience_state()
            held: set[tuple[str, str]] = set()
            for key, payload in self._a_members.get(audience, {}).items():
                if key not in skip:
                    held |= user_pairs(payload) & wanted
            return held

    def queue_audience_refresh(self, audience: str, *, before: float, now: float) -> int:
        with self._lock:
            self._audience_state()
            sent = self._a_sent.get(audience, {})
            pending = self._a_pending.setdefault(audience, {})
            queued = 0
            for key, payload in self._a_members.get(audience, {}).items():
                at = sent.get(key)
                if key not in pending and (at is None or at < before):
                    pending[key] = _Pending(op="add", payload=payload, since=now)
                    queued += 1
            return queued

    def note_audience_problem(self, name: str, problem: str | None) -> None:
        with self._lock:
            self._audience_state()
            if name in self._a_records:
                self._a_records[name] = dataclasses.replace(self._a_records[name], problem=problem)

    def active_audience_payloads(self, destination: str) -> list[bytes]:
        with self._lock:
            return [
                j.payload
                for j in sorted(self._jobs.values(), key=lambda j: j.id)
                if j.destination == destination and j.status in ACTIVE_STATUSES
            ]
