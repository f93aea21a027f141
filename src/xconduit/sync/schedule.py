"""Syncs on their `schedule`: a thread inside `xconduit serve` (and the loop of `--watch`).

Each scheduled sync runs once at start, then `schedule` after its previous run began (a run
longer than its schedule starts the next one as soon as it ends). A failed run is logged and
tried again at the next tick: a warehouse that is down for a while must not stop the gateway.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from xconduit.config import Settings
from xconduit.errors import XconduitError
from xconduit.outbox.syncs import SyncStore
from xconduit.sync.run import SyncResult, run_sync

log = logging.getLogger("xconduit.sync")


def describe(result: SyncResult) -> str:
    """One log line for a run."""
    text = (
        f"sync {result.name}: {result.rows:,} rows, {result.enqueued:,} enqueued, "
        f"{result.rejected:,} rejected, {result.already_sent:,} already sent"
    )
    if result.repeated:
        text += f", {result.repeated:,} repeated"
    for note in result.notes:
        text += f"; {note}"
    if result.report:
        text += f" (report: {result.report})"
    if result.error:
        text += f"; stopped: {result.error}"
    return text


class SyncScheduler:
    """Runs every sync whose `schedule` is set, each on its own clock, in one thread."""

    def __init__(
        self,
        settings: Settings,
        store: SyncStore,
        *,
        reports: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._store = store
        self._reports = reports
        self._clock = clock
        self._due = {s.name: 0.0 for s in settings.syncs if s.schedule > 0}
        self._every = {s.name: float(s.schedule) for s in settings.syncs}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs: list[SyncResult] = []
        """The runs so far (for tests and the dashboard)."""

    @property
    def active(self) -> bool:
        return bool(self._due)

    def run_due(self) -> None:
        """Run every sync that is due now."""
        for name, due in sorted(self._due.items()):
            if self._stop.is_set() or due > self._clock():
                continue
            self._due[name] = self._clock() + self._every[name]
            try:
                result = run_sync(
                    self._settings,
                    name,
                    self._store,
                    reports=self._reports,
                    should_stop=self._stop.is_set,
                )
            except XconduitError as exc:
                log.warning("sync %s could not run: %s", name, exc)
                continue
            self.runs.append(result)
            log.info("%s", describe(result))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            wake = min(self._due.values()) - self._clock()
            self._stop.wait(max(wake, 0.1))

    def start(self) -> None:
        if not self.active:
            return
        self._thread = threading.Thread(target=self._run, name="sync-schedule", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the run in progress (its committed batches stay committed)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
