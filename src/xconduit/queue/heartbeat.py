"""A delivery process's heartbeat: its row in `worker_heartbeats`, refreshed every few seconds,
so that `xconduit sync --wait` knows whether a `serve` or `worker` is delivering from the same
outbox (or must deliver itself)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from xconduit.errors import XconduitError
from xconduit.queue.syncs import HEARTBEAT_INTERVAL, SyncStore

log = logging.getLogger("xconduit.queue")


class Heartbeat:
    """`start()` notes the process alive and keeps it so; `stop()` forgets it."""

    def __init__(
        self,
        store: SyncStore,
        *,
        kind: str,
        clock: Callable[[], float] = time.time,
        interval: float = HEARTBEAT_INTERVAL,
    ) -> None:
        self._store = store
        self._kind = kind
        self._clock = clock
        self._interval = interval
        self.id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        self._store.heartbeat(
            self.id, kind=self._kind, host=socket.gethostname(), pid=os.getpid(), now=self._clock()
        )

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
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
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self._store.forget_worker(self.id)
        except XconduitError as exc:
            log.warning("could not remove the heartbeat: %s", exc)
