"""The outbox in memory, for tests and dry runs: the same behaviour as `SqliteStore`, nothing
kept after the process ends. Thread-safe (one lock)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from xconduit.outbox.audience_breakdown import MemoryBreakdown
from xconduit.outbox.budget import SharedLedger
from xconduit.outbox.check_runs import MemoryCheckRuns
from xconduit.outbox.hours import MemoryHours
from xconduit.outbox.jobs import (
    ACTIVE_STATUSES,
    Claim,
    DeliveryJob,
    IncomingEvent,
    JobStatus,
    oldest_share,
    pending_job,
)
from xconduit.outbox.legs import MemoryLegs
from xconduit.outbox.memory.audiences import MemoryAudienceMixin
from xconduit.outbox.memory.budget import MemoryBook, MemoryLedgerTx
from xconduit.outbox.memory.counts import MemoryCounts
from xconduit.outbox.sync_runs import MemorySyncRuns
from xconduit.outbox.syncs import Heartbeats, ProcessReport, SyncCommit, SyncState
from xconduit.outbox.waiting import MemoryWaiting


class MemoryStore(
    MemoryCounts,
    MemoryAudienceMixin,
    SharedLedger,
    MemoryCheckRuns,
    Heartbeats,
    MemorySyncRuns,
    MemoryBreakdown,
    MemoryLegs,
    MemoryHours,
    MemoryWaiting,
):
    """The outbox in a dict (see `xconduit.outbox.Store` for each method)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[int, DeliveryJob] = {}
        self._committed_at: dict[int, float] = {}
        """The commit time of each collector job: the debugger looks a job up by it."""
        self._seen: dict[tuple[str, str], float] = {}
        self._last_id = 0
        self._book = MemoryBook()
        self._init_counts()
        self._syncs: dict[str, SyncState] = {}
        self._sync_lock = threading.Lock()
        self._workers: dict[str, ProcessReport] = {}

    def commit_events(
        self, events: Sequence[IncomingEvent], *, now: float, recent: bool = True
    ) -> list[bool]:
        accepted: list[bool] = []
        with self._lock:
            for event in events:
                key = (event.source, event.message_id)
                fresh = key not in self._seen
                accepted.append(fresh)
                if not fresh:
                    continue
                self._seen[key] = now
                if event.audience_changes:
                    self._coalesce(event.audience_changes, now)
                for new in event.jobs:
                    self._last_id += 1
                    self._jobs[self._last_id] = pending_job(self._last_id, new, now)
                    self._committed_at[self._last_id] = now
            self._note_events(events, accepted, now, recent=recent)
        return accepted

    def claim_batch(
        self, destination: str, *, limit: int, now: float, lease_seconds: float, owner: str = ""
    ) -> list[DeliveryJob]:
        if limit <= 0:
            return []
        with self._lock:
            return self._claim_locked(Claim(destination, limit, now, lease_seconds, owner))

    def _claim_locked(self, claim: Claim) -> list[DeliveryJob]:
        destination, limit, now, owner = claim.destination, claim.limit, claim.now, claim.owner
        lease_until = now + claim.lease_seconds
        if limit <= 0:
            return []
        ready = [
            job
            for job in self._active(destination)
            if job.owner == owner and job.next_attempt_at <= now
        ]
        # As the SQL stores: the longest due share, the rest by priority, freshest first.
        oldest = oldest_share(limit)
        by_due = sorted(ready, key=lambda job: (job.next_attempt_at, job.id))[:oldest]
        taken = {job.id for job in by_due}
        rest = sorted((job for job in ready if job.id not in taken), key=_urgency)
        due = by_due + rest[: limit - oldest]
        claimed = []
        for job in due:
            claimed.append(
                self._put(
                    job,
                    status=JobStatus.IN_FLIGHT,
                    attempts=job.attempts + 1,
                    lease_until=lease_until,
                    next_attempt_at=lease_until,
                )
            )
        return sorted(claimed, key=lambda job: job.id)

    @contextmanager
    def _ledger_tx(self) -> Iterator[MemoryLedgerTx]:
        with self._lock:
            yield MemoryLedgerTx(self._book, self._claim_locked)

    def _active(self, destination: str | None) -> list[DeliveryJob]:
        return [
            job
            for job in self._jobs.values()
            if job.status in ACTIVE_STATUSES
            and (destination is None or job.destination == destination)
        ]

    def _put(self, job: DeliveryJob, **changes: object) -> DeliveryJob:
        job = dataclasses.replace(job, **changes)  # type: ignore[arg-type]
        self._jobs[job.id] = job
        return job

    def _ack(
        self, changes: Sequence[tuple[int, Callable[[DeliveryJob], dict[str, object]]]]
    ) -> int:
        moved = 0
        with self._lock:
            for id_, change in changes:
                job = self._jobs.get(id_)
                if job is not None and job.status is JobStatus.IN_FLIGHT:
                    self._put(job, **change(job))
                    moved += 1
        return moved

    def mark_delivered(self, ids: Sequence[int], *, now: float) -> int:
        def change(job: DeliveryJob) -> dict[str, object]:
            return {"status": JobStatus.DELIVERED, "delivered_at": now, "lease_until": None}

        return self._ack([(id_, change) for id_ in ids])

    def schedule_retry(self, ids: Sequence[int], *, at: float, error: str, now: float) -> int:
        def change(job: DeliveryJob) -> dict[str, object]:
            return {
                "status": JobStatus.RETRY_SCHEDULED,
                "next_attempt_at": at,
                "last_error": error,
                "lease_until": None,
            }

        return self._ack([(id_, change) for id_ in ids])

    def dead_letter(self, items: Sequence[tuple[int, str]], *, now: float) -> int:
        def change_for(reason: str) -> Callable[[DeliveryJob], dict[str, object]]:
            return lambda job: {"status": JobStatus.DEAD, "last_error": reason, "lease_until": None}

        return self._ack([(id_, change_for(reason)) for id_, reason in items])

    def release(self, ids: Sequence[int], *, now: float) -> int:
        def change(job: DeliveryJob) -> dict[str, object]:
            return {
                "status": JobStatus.PENDING,
                "attempts": job.attempts - 1,
                "next_attempt_at": now,
                "lease_until": None,
            }

        return self._ack([(id_, change) for id_ in ids])

    def next_due_at(self, destination: str, *, owner: str = "") -> float | None:
        with self._lock:
            due = (job.next_attempt_at for job in self._active(destination) if job.owner == owner)
            return min(due, default=None)

    def job_owners(self) -> dict[tuple[str, str], dict[JobStatus, int]]:
        owners: dict[tuple[str, str], dict[JobStatus, int]] = {}
        with self._lock:
            for job in self._jobs.values():
                per_status = owners.setdefault((job.destination, job.owner), {})
                per_status[job.status] = per_status.get(job.status, 0) + 1
        return owners

    def active_job_owners(self) -> dict[tuple[str, str], int]:
        owners: dict[tuple[str, str], int] = {}
        with self._lock:
            for job in self._active(None):
                key = (job.destination, job.owner)
                owners[key] = owners.get(key, 0) + 1
        return owners

    def adopt_jobs(self, destination: str, *, owner: str, account_id: str, pixel_id: str) -> int:
        with self._lock:
            untagged = [
                job
                for job in self._jobs.values()
                if job.owner == ""
                and job.destination == destination
                and job.account_id == account_id
                and job.pixel_id == pixel_id
            ]
            for job in untagged:
                self._put(job, owner=owner)
        return len(untagged)

    def destinations(self) -> list[str]:
        with self._lock:
            return sorted({job.destination for job in self._active(None)})

    def counts(self) -> dict[str, dict[JobStatus, int]]:
        counts: dict[str, dict[JobStatus, int]] = {}
        with self._lock:
            for job in self._jobs.values():
                per_status = counts.setdefault(job.destination, {})
                per_status[job.status] = per_status.get(job.status, 0) + 1
        return counts

    def _dead(self, ids: Sequence[int] | None, destination: str | None) -> list[DeliveryJob]:
        chosen = self._jobs.values() if ids is None else (self._jobs.get(i) for i in set(ids))
        return sorted(
            (
                job
                for job in chosen
                if job is not None
                and job.status is JobStatus.DEAD
                and (destination is None or job.destination == destination)
            ),
            key=lambda job: job.id,
        )

    def list_dead(self, *, destination: str | None = None, limit: int = 100) -> list[DeliveryJob]:
        with self._lock:
            return self._dead(None, destination)[: max(limit, 0)]

    def replay_dead(
        self, *, ids: Sequence[int] | None = None, destination: str | None = None, now: float
    ) -> int:
        with self._lock:
            dead = self._dead(ids, destination)
            for job in dead:
                self._put(
                    job, status=JobStatus.PENDING, attempts=0, next_attempt_at=now, created_at=now
                )
        return len(dead)

    def purge_dead(
        self, *, ids: Sequence[int] | None = None, destination: str | None = None
    ) -> int:
        with self._lock:
            dead = self._dead(ids, destination)
            for job in dead:
                del self._jobs[job.id]
                self._committed_at.pop(job.id, None)
        return len(dead)

    def purge_delivered(self, older_than: float) -> int:
        with self._lock:
            old = [
                job.id
                for job in self._jobs.values()
                if job.status is JobStatus.DELIVERED
                and job.delivered_at is not None
                and job.delivered_at < older_than
            ]
            for id_ in old:
                del self._jobs[id_]
                self._committed_at.pop(id_, None)
        return len(old)

    def purge_dedup(self, older_than: float) -> int:
        with self._lock:
            old = [key for key, seen_at in self._seen.items() if seen_at < older_than]
            for key in old:
                del self._seen[key]
        return len(old)

    def close(self) -> None:
        """Nothing to release."""

    # Warehouse syncs and delivery heartbeats (`xconduit.outbox.syncs.SyncStore`).

    def sync_state(self, name: str) -> SyncState | None:
        with self._lock:
            return self._syncs.get(name)

    def commit_sync_batch(
        self, name: str, events: Sequence[IncomingEvent], *, state: SyncState, now: float
    ) -> SyncCommit:
        # One lock for both, like SQLite's one transaction (commit_events takes it again).
        with self._sync_lock:
            accepted = self.commit_events(events, now=now)
            with self._lock:
                self._syncs[name] = SyncState(
                    cursor=state.cursor, generation=state.generation, updated_at=now
                )
                return SyncCommit(accepted=accepted, last_job_id=self._last_id)

    def last_job_id(self) -> int:
        with self._lock:
            return self._last_id

    def job_counts_between(self, destination: str, first: int, last: int) -> dict[JobStatus, int]:
        counts: dict[JobStatus, int] = {}
        with self._lock:
            for job in self._jobs.values():
                if first <= job.id <= last and job.destination == destination:
                    counts[job.status] = counts.get(job.status, 0) + 1
        return counts

    def _put_report(self, report: ProcessReport) -> None:
        with self._lock:
            self._workers[report.id] = report

    def forget_worker(self, worker_id: str) -> None:
        with self._lock:
            self._workers.pop(worker_id, None)

    def live_workers(self, *, since: float, owner: str | None = None) -> int:
        keys = () if owner is None else (owner,)
        with self._lock:
            return sum(
                1
                for w in self._workers.values()
                if w.seen_at >= since and (owner is None or w.delivers_any(keys))
            )

    def live_reports(self, *, since: float) -> list[ProcessReport]:
        with self._lock:
            live = [w for w in self._workers.values() if w.seen_at >= since]
        return sorted(live, key=lambda w: (w.host, w.pid, w.id))


def _urgency(job: DeliveryJob) -> tuple[int, tuple[int, ...], int]:
    """The claim order by priority: lower priority first, then the later conversion time (text
    in X's form, compared by code points descending), then the lower id."""
    return (job.priority, (*(-ord(c) for c in job.conversion_time), 1), job.id)
