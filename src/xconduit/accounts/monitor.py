"""The setup checks while serving: at start, every `interval`, and when someone runs them.

A failed credentials or role check pauses delivery to that account (its jobs stay pending); a
passing one resumes it, and a destination whose pixel and event checks pass is resumed too (X
refused its setup earlier: `delivery/pause.py`). The last table is kept for `/readyz` (503
naming each failure) and the dashboard. Checks that X did not answer count as failures, and the
next round tries again.

`xconduit check` and the dashboard's button count their runs in the store (`CheckRuns`); the
monitor polls that count every `poll` seconds and runs its own checks as soon as it grows, so a
passing check resumes delivery in every process on the store within seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from xconduit.accounts.check import Check, Status, XReader, blocked_accounts, failed, run_checks
from xconduit.config import Settings
from xconduit.delivery.pause import AccountPauses
from xconduit.errors import XconduitError
from xconduit.outbox.check_runs import CheckRuns

log = logging.getLogger("xconduit.check")

DEFAULT_INTERVAL = 300.0
RUNS_POLL = 1.0
"""Seconds between two reads of the check runs counted in the store."""


class SetupMonitor:
    """Runs `run_checks` now and then and applies the result to `pauses`."""

    def __init__(
        self,
        *,
        settings: Settings,
        client: XReader,
        pauses: AccountPauses,
        clock: Callable[[], float] = time.time,
        interval: float = DEFAULT_INTERVAL,
        runs: CheckRuns | None = None,
        poll: float = RUNS_POLL,
    ) -> None:
        self._settings = settings
        self._client = client
        self.pauses = pauses
        self._clock = clock
        self.interval = interval
        self._runs = runs
        self._poll = poll
        self._seen = 0
        self._unread = False
        self.checks: Sequence[Check] = ()
        self.checked_at: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_change: Callable[[], None] = lambda: None
        """Called after each round (the heartbeat reports the new table at once)."""

    def run_once(self) -> Sequence[Check]:
        try:
            checks = run_checks(self._settings, self._client)
        except Exception:  # a bug must not stop the monitor; the next round tries again
            log.exception("setup checks failed to run")
            return self.checks
        now = self._clock()
        blocked = blocked_accounts(checks)
        for account_id in {c.account_id for c in checks}:
            if account_id in blocked:
                self.pauses.pause(account_id, blocked[account_id], now=now)
            else:
                self.pauses.resume(account_id)
        for destination in _passing_destinations(self._settings, checks):
            self.pauses.resume_destination(destination)
        for check in failed(checks):
            log.warning(
                "check failed: %s %s: %s (fix: %s)",
                check.subject,
                check.item,
                check.detail,
                check.fix or "-",
            )
        self.checks, self.checked_at = checks, now
        self.on_change()
        return checks

    def problems(self) -> list[str]:
        """What keeps the gateway from being ready: failed checks and paused accounts."""
        out = [f"{c.subject} {c.item}: {c.detail}" for c in failed(self.checks)]
        out += [p.problem for p in self.pauses.paused()]
        return out

    def run_for_everyone(self) -> Sequence[Check]:
        """Run the checks here and have every delivery process on the store run them at once
        (the dashboard's button, a new connection)."""
        self._note_run()
        return self.run_once()

    def _note_run(self) -> None:
        if self._runs is None:
            return
        try:
            self._seen = self._runs.note_check_run(now=self._clock())
        except XconduitError as exc:
            log.warning("could not tell the other processes to run their checks: %s", exc)

    def _asked(self) -> bool:
        """True when someone ran the checks since the last look (the count in the store grew)."""
        if self._runs is None:
            return False
        try:
            runs = self._runs.check_runs()
        except XconduitError as exc:
            if not self._unread:  # once: the store may be down for a while
                log.warning("could not read the check runs in the store: %s", exc)
            self._unread = True
            return False
        self._unread = False
        asked, self._seen = runs > self._seen, max(runs, self._seen)
        return asked

    def _run(self) -> None:
        self._asked()  # runs counted before this process started are not for it
        while True:
            self.run_once()
            next_round = time.monotonic() + self.interval
            while (left := next_round - time.monotonic()) > 0:
                if self._stop.wait(min(self._poll, left)):
                    return
                if self._asked():
                    log.info("the checks were run elsewhere: running them here now")
                    break

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="xconduit-checks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def _passing_destinations(settings: Settings, checks: Sequence[Check]) -> list[str]:
    """Conversion destinations whose every check ran and passed (pixel, event ids)."""
    by_subject: dict[str, list[Check]] = {}
    for check in checks:
        by_subject.setdefault(check.subject, []).append(check)
    return [
        d.name
        for d in settings.conversions
        if (mine := by_subject.get(f"conversions.{d.name}"))
        and all(c.status is Status.OK for c in mine)
    ]
