"""DeliveryService: the delivery workers of one process (skeleton; filled in next)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from xconduit.config import DeliverySettings, Settings
from xconduit.queue import Store
from xconduit.xads import XAdsClient


class DeliveryService:
    """Delivery workers: `start()` threads, `stop(timeout)`, or `run_until_idle(timeout)`."""

    def __init__(
        self,
        *,
        store: Store,
        client: XAdsClient,
        settings: Settings | DeliverySettings,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._store = store
        self._client = client
        self._settings = settings
        self._clock = clock
        self._sleep = sleep
        self._stopping = threading.Event()

    def start(self) -> None:
        """Start the worker threads and return."""

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the workers, releasing claimed jobs; True when every thread ended in time."""
        self._stopping.set()
        return True

    def run_until_idle(self, timeout: float) -> bool:
        """Deliver in the calling thread until no job is left to do; False on timeout."""
        return False
