"""What warehouse syncs and delivery processes keep in the outbox, beside the delivery jobs.

`SyncStore` adds to `Store`: a sync's state (its cursor and generation), committed with the
delivery jobs of the rows it covers in one transaction, so a crash can neither skip a row nor
enqueue it twice; the id range and states of a run's jobs (`xconduit sync --wait`); and
heartbeats of `serve` / `worker` processes, so a sync knows whether anything delivers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from xconduit.outbox import Store
from xconduit.outbox.jobs import IncomingEvent, JobStatus

HEARTBEAT_INTERVAL = 5.0
"""Seconds between two heartbeats of a delivery process."""
HEARTBEAT_TIMEOUT = 20.0
"""A delivery process not seen for this long is taken for dead."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncState:
    """Where a sync has got to."""

    cursor: str | None = None
    """The greatest cursor value committed, as the sync encodes it (JSON); None: from the start."""
    generation: int = 0
    """Grows with each `--full` run; part of each row's event id."""
    updated_at: float | None = field(default=None, compare=False)
    """When the state was last committed (read back from the store; ignored when writing)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncCommit:
    """What one `commit_sync_batch` did."""

    accepted: list[bool]
    """Per event, False when it was committed before (a row read again after a crash)."""
    last_job_id: int
    """The greatest job id given so far (the run's jobs have ids up to it)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ProcessReport:
    """A live delivery process's heartbeat row and what it reports (`report`: JSON text, written
    by `xconduit.accounts.fleet`; None from a process that reports nothing)."""

    id: str
    kind: str
    host: str
    pid: int
    seen_at: float
    report: str | None = None
    owners: str | None = None
    """The keys of the destinations it delivers, space-separated (`xconduit.config.identity`);
    None from an older process."""

    def delivers_any(self, keys: Collection[str]) -> bool:
        """Whether it delivers one of `keys` (an older process, reporting none: yes)."""
        return self.owners is None or not set(self.owners.split()).isdisjoint(keys)


@runtime_checkable
class SyncStore(Store, Protocol):
    """The outbox, with what syncs and delivery processes need."""

    def sync_state(self, name: str) -> SyncState | None:
        """The sync's state; None before its first run."""
        ...

    def commit_sync_batch(
        self, name: str, events: Sequence[IncomingEvent], *, state: SyncState, now: float
    ) -> SyncCommit:
        """`commit_events(events)` and the sync's new `state`, in one transaction."""
        ...

    def last_job_id(self) -> int:
        """The greatest delivery job id given so far (0 on a new outbox)."""
        ...

    def job_counts_between(self, destination: str, first: int, last: int) -> dict[JobStatus, int]:
        """Jobs of `destination` with `first <= id <= last`, per state."""
        ...

    def heartbeat(
        self,
        worker_id: str,
        *,
        kind: str,
        host: str,
        pid: int,
        now: float,
        report: str | None = None,
        owners: str | None = None,
    ) -> None:
        """Note a delivery process as alive at `now`, reporting `report` (replaces the last)
        and delivering the destinations of the keys in `owners` (space-separated)."""
        ...

    def forget_worker(self, worker_id: str) -> None:
        """A delivery process stopped."""
        ...

    def live_workers(self, *, since: float, owner: str | None = None) -> int:
        """Delivery processes seen at or after `since` (that deliver the destination of key
        `owner`, when given)."""
        ...

    def live_reports(self, *, since: float) -> list[ProcessReport]:
        """The delivery processes seen at or after `since` and their reports, by host and pid."""
        ...


class ReportSink(Protocol):
    def _put_report(self, report: ProcessReport) -> None:
        """Keep `report` in place of the process's last one."""
        ...


class Heartbeats:
    """`SyncStore.heartbeat` for every store, over its `_put_report`."""

    def heartbeat(
        self: ReportSink,
        worker_id: str,
        *,
        kind: str,
        host: str,
        pid: int,
        now: float,
        report: str | None = None,
        owners: str | None = None,
    ) -> None:
        seen = ProcessReport(id=worker_id, kind=kind, host=host, pid=pid, seen_at=now)
        self._put_report(dataclasses.replace(seen, report=report, owners=owners))
