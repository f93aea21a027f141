"""DeliveryService: the delivery workers of one process.

One thread per conversion destination (times `delivery.workers`). A loop per destination keeps
one destination's trouble (a 429, a slow pixel, bad credentials) from holding back another's,
and each loop's work is sequential (claim, send, ack), so its code has no locks of its own;
destinations of one ad account share that account's rate budget, kept in the store so that
every process on it shares it too (`SharedBudgets`). The work is I/O bound, so a few
threads are enough; `workers > 1` runs more loops per destination, which overlap one loop's
request to X with another's claim and ack (their claims never overlap: the store hands each
job to one claimant).

Only the configured destinations are delivered, and of each only the jobs carrying its key
(`xconduit.config.identity`): configurations sharing one outbox never send each other's jobs.
Jobs this process cannot own are said once in the log (`foreign_line`); untagged jobs (from
before the outbox kept keys) of a configured destination with the same account and pixel are
adopted first.

Purging delivered jobs past `delivery.retention` is the outbox's `Maintenance` thread
(`xconduit.outbox.maintenance`), the one owner of every purge.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence

from xconduit.config import ConversionDestination, DeliverySettings
from xconduit.config.identity import Ownership
from xconduit.delivery.batching import BatchRules
from xconduit.delivery.pause import AccountPauses
from xconduit.delivery.retry import RetryPolicy
from xconduit.delivery.shared_budget import SharedBudgets
from xconduit.delivery.worker import ConversionSender, DestinationWorker, WorkerOptions, WorkerStats
from xconduit.outbox import Store
from xconduit.outbox.owners import foreign_active, foreign_line

log = logging.getLogger("xconduit.delivery")

FOREIGN_CHECK_SECONDS = 30.0
"""How often the discovery loop looks for jobs of other configurations (and untagged jobs to
adopt): it reads the outbox's waiting jobs, so not at every round."""


class DeliveryService:
    """Delivery workers: `start()` threads and `stop(timeout)`, or `run_until_idle(timeout)`.

    `delivery` is `[delivery]`; `destinations` the configured conversion destinations, the only
    ones delivered; `ownership` the keys of their jobs (None: untagged jobs, as tests make them);
    `request_timeout` is `x.timeout`, which also sets the lease. `clock` and `sleep` are
    injectable for tests; by default `sleep` wakes early when `stop()` is called.
    """

    def __init__(
        self,
        *,
        store: Store,
        client: ConversionSender,
        delivery: DeliverySettings,
        destinations: Sequence[ConversionDestination] = (),
        request_timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        lease_seconds: float | None = None,
        poll: float = 0.2,
        pauses: AccountPauses | None = None,
        ownership: Ownership | None = None,
    ) -> None:
        self._store = store
        self._configured = list(destinations)
        self._ownership = ownership or Ownership(
            keys={d.name: "" for d in destinations}, audiences=frozenset()
        )
        self.foreign = 0
        """Jobs of destinations not in this configuration, when last looked (`foreign_line`)."""
        self._client = client
        self._delivery = delivery
        self._clock = clock
        self._stopping = threading.Event()
        self._sleep = sleep or self._wait
        self._accounts = {d.name: d.account_id for d in destinations}
        self._options = WorkerOptions(
            rules=BatchRules(max_count=delivery.batch_size, max_age=float(delivery.batch_age)),
            policy=RetryPolicy(
                retry_min=float(delivery.retry_min),
                retry_max=float(delivery.retry_max),
                retry_window=float(delivery.retry_window),
            ),
            lease_seconds=lease_seconds or max(60.0, 2 * request_timeout + 10.0),
            request_timeout=request_timeout,
            poll=poll,
        )
        self.budgets = SharedBudgets(
            store,
            events=delivery.events_per_window,
            requests=delivery.requests_per_window,
            window=float(delivery.window),
        )
        self.pauses = pauses or AccountPauses(probe_after=float(delivery.retry_max))
        """Accounts whose credentials X refused (delivery/pause.py)."""
        self._workers: list[DestinationWorker] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    # -- workers -------------------------------------------------------------------------------

    def _worker(self, destination: str) -> DestinationWorker:
        worker = DestinationWorker(
            destination=destination,
            account_id=self._accounts.get(destination),
            owner=self._ownership.keys.get(destination, ""),
            store=self._store,
            sender=self._client,
            budgets=self.budgets,
            options=self._options,
            clock=self._clock,
            sleep=self._sleep,
            stopping=self._stopping.is_set,
            pauses=self.pauses,
        )
        with self._lock:
            self._workers.append(worker)
        return worker

    def _destinations(self) -> list[str]:
        """The configured destinations: jobs of any other are not this process's to send."""
        return list(self._accounts)

    def tidy(self) -> int:
        """Adopt untagged jobs of the configured destinations, then count (and say, when they
        first appear) the jobs this process cannot own; that count."""
        for d in self._configured:
            key = self._ownership.keys.get(d.name, "")
            if key:
                self._store.adopt_jobs(
                    d.name, owner=key, account_id=d.account_id, pixel_id=d.pixel_id
                )
        foreign = foreign_active(self._store.active_job_owners(), self._ownership.owns)
        if foreign and not self.foreign:
            log.warning("delivery: %s", foreign_line(foreign))
        self.foreign = foreign
        return foreign

    def stats(self) -> dict[str, WorkerStats]:
        """Counters per destination (summed over its loops)."""
        totals: dict[str, WorkerStats] = {}
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            total = totals.setdefault(worker.destination, WorkerStats())
            for name, value in vars(worker.stats).items():
                setattr(total, name, getattr(total, name) + value)
        return totals

    # -- threads -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker threads and return."""
        if self._threads:
            raise RuntimeError("the delivery service is already started")
        self._stopping.clear()
        self._spawn(self._discover, "xconduit-delivery-discover")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        with self._lock:
            if self._stopping.is_set():
                return
            self._threads.append(thread)
        thread.start()

    def _discover(self) -> None:
        """Start loops for every destination, and for new ones found in the store later."""
        started: set[str] = set()
        checked_at: float | None = None
        while not self._stopping.is_set():
            try:
                now = time.monotonic()
                if checked_at is None or now - checked_at >= FOREIGN_CHECK_SECONDS:
                    checked_at = now
                    self.tidy()
            except Exception:
                log.exception("delivery: cannot look for other configurations' jobs")
            try:
                for name in self._destinations():
                    if name not in started:
                        started.add(name)
                        for n in range(self._delivery.workers):
                            worker = self._worker(name)
                            self._spawn(
                                functools.partial(self._run, worker), f"xconduit-deliver-{name}-{n}"
                            )
            except Exception:
                log.exception("delivery: cannot list destinations")
            self._stopping.wait(5.0)

    def _run(self, worker: DestinationWorker) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    wake = worker.step()
                except Exception:
                    log.exception("delivery %s: step failed", worker.destination)
                    wake = None
                now = self._clock()
                delay = self._options.poll if wake is None else wake - now
                if delay > 0:
                    self._sleep(min(delay, 5.0))
        finally:
            try:
                worker.release_held()
            except Exception:
                log.exception("delivery %s: cannot release claimed jobs", worker.destination)

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the workers; claimed jobs not sent are released. True if all threads ended.

        A request already on its way to X finishes (and is acked) first; a thread that does not
        end in time leaves its claimed jobs to their lease, after which they are claimed again.
        """
        with self._lock:
            self._stopping.set()
            threads, self._threads = self._threads, []
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
        return not any(thread.is_alive() for thread in threads)

    # -- in the caller's thread ----------------------------------------------------------------

    def run_until_idle(self, timeout: float) -> bool:
        """Deliver in the calling thread until no job is pending, in flight or scheduled.

        True when idle; False when `timeout` (seconds of `clock`) passed first. Uses the
        injected `sleep` between rounds, so with a fake clock retries hours away take no time.
        """
        deadline = self._clock() + timeout
        workers: dict[str, DestinationWorker] = {}
        self.tidy()
        try:
            while True:
                for name in self._destinations():
                    if name not in workers:
                        workers[name] = self._worker(name)
                wakes = [worker.step() for worker in workers.values()]
                pending = [w for w in wakes if w is not None]
                now = self._clock()
                if not pending:
                    return True
                if now >= deadline:
                    return False
                wake = min(pending) if pending else now + self._options.poll
                if wake > now:
                    self._sleep(min(wake, deadline) - now)
        finally:
            for worker in workers.values():
                worker.release_held()
