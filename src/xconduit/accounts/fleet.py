"""The fleet's alarm: the failed checks and paused accounts of every delivering process.

The setup checks and the pauses live in the processes that deliver (`serve` with delivery,
`worker`). Each one's heartbeat carries its report (`report_of`, JSON: plain text, never PII or
secrets), so a `serve --no-delivery` collector, which has no X client and runs no checks, shows
what the delivering processes report; a process whose heartbeat is stale no longer counts.
The process's own monitor is read directly (fresher than its heartbeat row).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from xconduit.accounts.check import Check, Status
from xconduit.accounts.monitor import SetupMonitor
from xconduit.delivery.pause import AccountPauses, Pause
from xconduit.errors import XconduitError
from xconduit.outbox.syncs import HEARTBEAT_TIMEOUT, ProcessReport, SyncStore

log = logging.getLogger("xconduit.check")

STORE_UNREAD = "the store cannot be read: the other processes' checks are unknown (see the log)"
NOBODY_DELIVERS = (
    "no process is delivering: events wait in the outbox until a `serve` with delivery or an "
    "`xconduit worker` runs on this store"
)


@dataclass(frozen=True, kw_only=True)
class ProcessStatus:
    """What one delivery process reports."""

    kind: str
    host: str
    pid: int
    problems: Sequence[str] = ()
    paused: Sequence[Pause] = ()
    checks: Sequence[Check] = ()
    checked_at: float | None = None

    @property
    def name(self) -> str:
        return f"{self.kind} on {self.host} pid {self.pid}"


@dataclass(frozen=True, kw_only=True)
class Alarm:
    """The fleet's state at one moment (what `/readyz`, `/metrics` and the dashboard show)."""

    processes: Sequence[ProcessStatus]
    unread: bool = False
    """The other processes' reports could not be read (the store is down or busy)."""

    @property
    def delivering(self) -> int:
        return len(self.processes)

    def reported(self) -> list[tuple[str, ProcessStatus]]:
        """Each problem with the process that reports it."""
        return [(problem, p) for p in self.processes for problem in p.problems]

    def problems(self) -> list[str]:
        """The problems, each once, in the order first reported."""
        unread = [STORE_UNREAD] if self.unread else []
        return list(dict.fromkeys([*unread, *(problem for problem, _ in self.reported())]))

    def banner(self) -> list[str]:
        """The dashboard's banner: each problem and who reports it; a warning when none delivers."""
        named: dict[str, list[str]] = {}
        for problem, process in self.reported():
            named.setdefault(problem, []).append(process.name)
        lines = [f"{problem} (reported by {', '.join(who)})" for problem, who in named.items()]
        if self.unread:
            lines.insert(0, STORE_UNREAD)
        elif not self.processes:
            lines.append(NOBODY_DELIVERS)
        return lines

    def paused(self) -> list[tuple[Pause, ProcessStatus]]:
        """Each paused account or destination once (the longest pause), with who reports it."""
        found: dict[tuple[str, str], tuple[Pause, ProcessStatus]] = {}
        for process in self.processes:
            for pause in process.paused:
                key = (pause.account_id, pause.destination or "")
                seen = found.get(key)
                if seen is None or pause.since < seen[0].since:
                    found[key] = (pause, process)
        return [found[key] for key in sorted(found)]

    def checks(self) -> list[Check]:
        """One row per check, failed if any process sees it fail (as `/readyz` says)."""
        rows: dict[tuple[str, str], Check] = {}
        for process in self.processes:
            for check in process.checks:
                key = (check.subject, check.item)
                seen = rows.get(key)
                if seen is None or (seen.status is not Status.FAIL and check.status is Status.FAIL):
                    rows[key] = check
        return list(rows.values())

    def checked_at(self) -> float | None:
        return max((p.checked_at for p in self.processes if p.checked_at), default=None)


def report_of(monitor: SetupMonitor) -> str:
    """What the heartbeat carries: the monitor's problems, paused accounts and last table."""
    body = {
        "problems": monitor.problems(),
        "paused": [
            {
                "account_id": p.account_id,
                "reason": p.reason,
                "since": p.since,
                "probe_at": p.probe_at,
                "destination": p.destination,
                "fix": p.fix,
            }
            for p in monitor.pauses.paused()
        ],
        "checks": [
            {
                "subject": c.subject,
                "account_id": c.account_id,
                "item": c.item,
                "status": c.status.value,
                "detail": c.detail,
                "fix": c.fix,
            }
            for c in monitor.checks
        ],
        "checked_at": monitor.checked_at,
    }
    return orjson.dumps(body).decode()


def status_of(row: ProcessReport) -> ProcessStatus:
    """A heartbeat row as a status; a row without a readable report reports nothing."""
    try:
        body: dict[str, Any] = orjson.loads(row.report) if row.report else {}
        return ProcessStatus(
            kind=row.kind,
            host=row.host,
            pid=row.pid,
            problems=[str(p) for p in body.get("problems", [])],
            paused=[Pause(**p) for p in body.get("paused", [])],
            checks=[Check(**{**c, "status": Status(c["status"])}) for c in body.get("checks", [])],
            checked_at=body.get("checked_at"),
        )
    except (orjson.JSONDecodeError, TypeError, ValueError, KeyError, AttributeError):
        # A report from another xconduit version: the process is alive, its report unread.
        return ProcessStatus(kind=row.kind, host=row.host, pid=row.pid)


def own_status(monitor: SetupMonitor | None, pauses: AccountPauses, *, kind: str) -> ProcessStatus:
    """This process, from its monitor (or only its pauses when it runs no checks)."""
    host, pid = socket.gethostname(), os.getpid()
    if monitor is None:
        problems = [p.problem for p in pauses.paused()]
        return ProcessStatus(
            kind=kind, host=host, pid=pid, problems=problems, paused=pauses.paused()
        )
    return ProcessStatus(
        kind=kind,
        host=host,
        pid=pid,
        problems=monitor.problems(),
        paused=monitor.pauses.paused(),
        checks=list(monitor.checks),
        checked_at=monitor.checked_at,
    )


@dataclass(kw_only=True)
class Fleet:
    """Reads the alarm of this process and of the live delivery processes on `store`."""

    store: Any
    pauses: AccountPauses
    monitor: SetupMonitor | None = None
    delivers: bool = True
    """False for `serve --no-delivery`: this process reports nothing of its own."""
    heartbeat_id: str | None = None
    """This process's heartbeat row, skipped (its monitor is read directly)."""
    clock: Callable[[], float] = time.time
    kind: str = "serve"
    owners: frozenset[str] | None = None
    """The keys of this configuration's destinations: only processes delivering one of them
    count (None: every process on the store)."""

    def alarm(self) -> Alarm:
        processes = []
        if self.delivers:
            processes.append(own_status(self.monitor, self.pauses, kind=self.kind))
        if not isinstance(self.store, SyncStore):
            return Alarm(processes=processes)

        try:
            rows = self.store.live_reports(since=self.clock() - HEARTBEAT_TIMEOUT)
        except XconduitError as exc:
            log.warning("could not read the other processes' heartbeats: %s", exc)
            return Alarm(processes=processes, unread=True)
        rows = [row for row in rows if row.id != self.heartbeat_id and self._ours(row)]
        processes += [status_of(row) for row in rows]
        return Alarm(processes=processes)

    def _ours(self, row: ProcessReport) -> bool:
        """A process of this configuration (another's checks are not this one's alarm)."""
        if self.owners is None or row.owners is None:
            return True
        if not self.owners:  # no conversion destination here: processes without any too
            return not row.owners.split()
        return row.delivers_any(self.owners)
