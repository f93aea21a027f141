"""The setup checks while serving: at start and every `interval`, pausing or resuming accounts.

A failed credentials or role check pauses delivery to that account (its jobs stay pending); a
passing one resumes it. The last table is kept for `/readyz` (503 naming each failure) and the
dashboard. Checks that X did not answer count as failures, and the next round tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from xconduit.accounts.check import Check, XReader, blocked_accounts, failed, run_checks
from xconduit.config import Settings
from xconduit.delivery.pause import AccountPauses

log = logging.getLogger("xconduit.check")

DEFAULT_INTERVAL = 300.0


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
    ) -> None:
        self._settings = settings
        self._client = client
        self.pauses = pauses
        self._clock = clock
        self.interval = interval
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
        out += [
            f"delivery to account {p.account_id} paused: {p.reason}" for p in self.pauses.paused()
        ]
        return out

    def _run(self) -> None:
        while True:
            self.run_once()
            if self._stop.wait(self.interval):
                return

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="xconduit-checks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
