"""A delivery process's heartbeat: its row in `worker_heartbeats`, refreshed every few seconds,
so that `xconduit sync --wait` knows whether a `serve` or `worker` is delivering from the same
outbox (or must deliver itself), and every process on the store shows what this one reports
(its failed checks and paused accounts: `report`, see `xconduit.accounts.fleet`)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from xconduit.errors import XconduitError
from xconduit.outbox.syncs import HEARTBEAT_INTERVAL, SyncStore

log = logging.getLogger("xconduit.outbox")


class Heartbeat:
    """`start()` notes the process alive and keeps it so; `stop()` forgets it."""

    def __init__(
        self,
        store: SyncStore,
        *,
        kind: str,
        clock: Callable[[], float] = time.time,
        interval: float = HEARTBEAT_INTERVAL,
        report: Callable[[], str | None] | None = None,
        owners: str | None = None,
    ) -> None:
        """`owners`: the keys of the destinations this process delivers, space-separated."""
        self._store = store
        self._owners = owners
        self._kind = kind
        self._clock = clock
        self._interval = interval
        self._report = report
        self._wake = threading.Event()
        self.id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        self._store.heartbeat(
            self.id,
            kind=self._kind,
            host=socket.gethostname(),
            pid=os.getpid(),
            now=self._clock(),
            report=self._current_report(),
            owners=self._owners,
        )

    def _current_report(self) -> str | None:
        if self._report is None:
            return None
        try:
            return self._report()
        except Exception:  # a bug in the report must not stop the heartbeat
            log.exception("could not build the heartbeat's report")
            return None

    def nudge(self) -> None:
        """Beat now (from the heartbeat's thread): the report changed."""
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.beat()
            except XconduitError as exc:  # the store may be busy: try again next beat
                log.warning("heartbeat failed: %s", exc)

    def start(self) -> None:
        self.beat()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self._store.forget_worker(self.id)
        except XconduitError as exc:
            log.warning("could not remove the heartbeat: %s", exc)
