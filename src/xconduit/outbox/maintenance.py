"""The outbox's housekeeping: one thread, the one owner of every purge.

Every hour it deletes delivered jobs older than the retention (`delivery.retention`), dedup rows
past their window and the dashboard's old per-minute and hourly counts. `serve` and `worker` each
run one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from xconduit.errors import XconduitError
from xconduit.outbox import DEDUP_WINDOW_SECONDS, Store
from xconduit.outbox.counts import MINUTES_KEPT
from xconduit.outbox.hours import HOURS_KEPT, HourStore
from xconduit.outbox.legs import LEGS_KEPT, LegStore

log = logging.getLogger("xconduit.outbox")

PURGE_INTERVAL = 3600.0


class Maintenance:
    """A thread that periodically forgets old dedup rows and purges old delivered jobs."""

    def __init__(
        self,
        store: Store,
        *,
        retention: float,
        clock: Callable[[], float] = time.time,
        interval: float = PURGE_INTERVAL,
    ) -> None:
        self._store = store
        self._retention = retention
        self._clock = clock
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> tuple[int, int]:
        """(delivered jobs purged, dedup rows forgotten)."""
        now = self._clock()
        delivered = self._store.purge_delivered(now - self._retention)
        # The dedup window is at least 24 h, and as long as delivered jobs are kept.
        dedup = self._store.purge_dedup(now - max(DEDUP_WINDOW_SECONDS, self._retention))
        purge_minutes = getattr(self._store, "purge_counter_minutes", None)
        if purge_minutes is not None:  # the dashboard's per-minute counts (outbox/counts.py)
            purge_minutes(now - MINUTES_KEPT)
        if isinstance(self._store, HourStore):  # the overview's charts (outbox/hours.py)
            self._store.purge_counter_hours(now - HOURS_KEPT)
        if isinstance(self._store, LegStore):  # the both-legs figures (outbox/legs.py)
            self._store.purge_legs(now - LEGS_KEPT)
        return delivered, dedup

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.run_once()
            except XconduitError as exc:  # try again next round; the store may be busy
                log.warning("outbox purge failed: %s", exc)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox-purge", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
