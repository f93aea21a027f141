"""Group commit: many concurrent collector requests share one outbox transaction.

Each `await committer.submit(events)` queues its events and waits. A writer thread takes
everything queued (up to `max_batch` events), calls `store.commit_events` once, and wakes each
caller with its own slice of the answer. A caller returns only after the transaction holding its
events has committed, so "returned" still means "durable" (what a collector's 200 promises),
while a busy collector pays for one fsync per group instead of one per request.

If a group's commit fails, every caller in that group gets a `StoreError` (the cause chained):
none of their events is committed (the transaction rolled back), the collector answers 503 and
clients retry; dedup on `(source, message_id)` makes the retry safe. Retrying each caller alone
was rejected: a failing disk or a locked database would then stall the writer once per caller.

The live debugger's rows (`IncomingEvent.recent`) cost as much to write as the jobs. The writer
puts them in a commit at most every `RECENT_EVERY` seconds; in between it holds them (the newest
`RECENT_PER_SOURCE` per source) and writes them with the next commit due to carry them, or alone
when that much time has passed without one. A collector's first event after a quiet spell shows
in the debugger as its request returns; under a stream, the debugger lags by up to
`RECENT_EVERY`. They are debugging aids, not data: if the process dies, the held rows are gone,
never an event or a count.

A busy store (`StoreBusy`: another writer held it past `busy_timeout`) also fails what queued
meanwhile, and `submit(events, timeout=...)` withdraws events still queued at the timeout: a
request is answered within about `busy_timeout`, and events it was told are not stored never
are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xconduit.errors import StoreBusy, StoreError
from xconduit.outbox import Store
from xconduit.outbox.counts import RECENT_PER_SOURCE, RecentEvent, newest_recent
from xconduit.outbox.jobs import IncomingEvent

log = logging.getLogger(__name__)

RECENT_EVERY = 0.5
"""Seconds between writes of the live debugger's rows."""


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class _Submission:
    events: Sequence[IncomingEvent]
    future: asyncio.Future[list[bool]]
    loop: asyncio.AbstractEventLoop


def _settle(future: asyncio.Future[list[bool]], result: list[bool] | BaseException) -> None:
    if future.done():  # the caller went away (cancelled); its events are committed all the same
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


class GroupCommitter:
    """Batches concurrent `submit` calls into shared `store.commit_events` transactions."""

    def __init__(
        self,
        store: Store,
        *,
        max_batch: int = 5000,
        max_delay: float = 0.0,
        clock: Callable[[], float] = time.time,
        recent_every: float = RECENT_EVERY,
    ) -> None:
        """`max_batch`: most events per transaction (a larger single submission goes alone).
        `max_delay`: seconds the writer waits for more submissions before committing; 0 commits
        at once, and groups still form from what queues up while the previous commit runs.
        `recent_every`: see `RECENT_EVERY`."""
        self._store = store
        self._max_batch = max_batch
        self._max_delay = max_delay
        self._clock = clock
        self._queue: deque[_Submission] = deque()
        self._queued_events = 0
        self._cond = threading.Condition()
        self._running = False
        self._thread: threading.Thread | None = None
        self.transactions = 0
        """Commits made so far (for metrics and tests)."""
        self._recent_every = recent_every
        self._held: dict[str, deque[tuple[RecentEvent, float]]] = {}
        self._recent_written = float("-inf")  # time.monotonic() of the last write

    def start(self) -> None:
        """Start the writer thread."""
        with self._cond:
            if self._running:
                return
            self._running = True
        self._thread = threading.Thread(target=self._run, name="outbox-group-commit", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Commit what is queued, then stop the writer (blocking; from async code, run it in a
        thread). Later submissions fail with `StoreError`."""
        with self._cond:
            self._running = False
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    async def submit(
        self, events: Sequence[IncomingEvent], *, timeout: float | None = None
    ) -> list[bool]:
        """Commit `events`; per event, False for a duplicate. Returns after the commit.

        `timeout`: if the events still wait in the queue after that many seconds (the writer is
        stuck behind a busy store), they are withdrawn and `StoreBusy` is raised: not committed,
        ever. Events already being committed are waited for (the store bounds that wait)."""
        if not events:
            return []
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[bool]] = loop.create_future()
        submission = _Submission(events=events, future=future, loop=loop)
        with self._cond:
            if not self._running:
                raise StoreError("the outbox group committer is not running")
            self._queue.append(submission)
            self._queued_events += len(events)
            self._cond.notify()
        if timeout is None:
            return await future
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(future)
        except TimeoutError:
            with self._cond:
                queued = submission in self._queue
                if queued:
                    self._queue.remove(submission)
                    self._queued_events -= len(events)
            if queued:
                raise StoreBusy(
                    f"the outbox writer is busy; waited {timeout:g} s (busy_timeout)"
                ) from None
            return await future

    def _take(self) -> list[_Submission] | None:
        """The next group, or None when stopped and drained; empty when held debugger rows are
        due and nothing is queued."""
        with self._cond:
            due = self._recent_written + self._recent_every - time.monotonic()
            waited = self._cond.wait_for(
                lambda: self._queue or not self._running, timeout=due if self._held else None
            )
            if not waited:
                return []
            if not self._queue:
                return None
            if self._max_delay > 0 and self._running:
                self._cond.wait_for(
                    lambda: self._queued_events >= self._max_batch or not self._running,
                    timeout=self._max_delay,
                )
            group = [self._queue.popleft()]
            size = len(group[0].events)
            while self._queue and size + len(self._queue[0].events) <= self._max_batch:
                group.append(self._queue.popleft())
                size += len(group[-1].events)
            self._queued_events -= size
            return group

    def _drain(self) -> list[_Submission]:
        with self._cond:
            drained = list(self._queue)
            self._queue.clear()
            self._queued_events = 0
            return drained

    def _run(self) -> None:
        while (group := self._take()) is not None:
            if not group:
                self._write_held()
                continue
            events = [event for submission in group for event in submission.events]
            now = self._clock()
            hold = time.monotonic() - self._recent_written < self._recent_every
            if not hold:
                self._write_held()  # first: they are older than this group's rows
            try:
                # Held: the debugger's rows stay out of this commit (written later, newest only).
                accepted = self._store.commit_events(events, now=now, recent=not hold)
            except Exception as error:
                if isinstance(error, StoreBusy):
                    # The store was held for all of busy_timeout: what queued meanwhile would
                    # wait as long again. Answer it now (not committed) instead.
                    group += self._drain()
                for submission in group:
                    kind = StoreBusy if isinstance(error, StoreBusy) else StoreError
                    failure = kind(f"the outbox commit failed: {error}")
                    failure.__cause__ = error
                    self._resolve(submission, failure)
                continue
            finally:
                self.transactions += 1
            if hold:
                recents = [event.recent for event in events]
                for recent in newest_recent(recents, accepted):
                    kept = self._held.setdefault(recent.source, deque(maxlen=RECENT_PER_SOURCE))
                    kept.append((recent, now))
            start = 0
            for submission in group:
                end = start + len(submission.events)
                self._resolve(submission, accepted[start:end])
                start = end
        self._write_held()

    def _write_held(self) -> None:
        self._recent_written = time.monotonic()
        rows = [row for kept in self._held.values() for row in kept]
        if not rows:
            return
        self._held.clear()
        rows.sort(key=lambda row: row[1])  # oldest first, across sources
        try:
            self._store.add_recent(rows)
        except StoreError as error:
            # Debugger rows only: the events and their counts are committed.
            log.warning("the live debugger missed %d events: %s", len(rows), error)

    @staticmethod
    def _resolve(submission: _Submission, result: list[bool] | BaseException) -> None:
        # RuntimeError: the caller's event loop is closed, so nobody is waiting.
        with contextlib.suppress(RuntimeError):
            submission.loop.call_soon_threadsafe(_settle, submission.future, result)
