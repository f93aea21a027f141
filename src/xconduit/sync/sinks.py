"""Where a run's mapped batches go: the outbox (`OutboxSink`: each batch's jobs committed with
the sync's new cursor, in a thread of its own) or, for a dry run, the screen (`PreviewSink`:
nothing is written). A run calls `restart` (`--full`), then `put` for each batch between
`open` and `close`, then `end` with the final cursor once every row was read, and `record`.
"""

from __future__ import annotations

import queue
import threading
from array import array
from collections.abc import Callable
from typing import Protocol

import orjson

from xconduit.outbox.counts import Count
from xconduit.outbox.legs import note_server_jobs
from xconduit.outbox.syncs import SyncState, SyncStore
from xconduit.sync.cursor import CursorTracker, encode
from xconduit.sync.mapper import MappedBatch
from xconduit.sync.result import SyncResult

PREVIEW = 10
"""Conversions a dry run prints."""


class Sink(Protocol):
    def restart(self, state: SyncState, *, now: float) -> None:
        """`--full`: the run starts a new generation from the start."""

    def open(self) -> None: ...

    def put(self, mapped: MappedBatch, cursor: CursorTracker) -> None:
        """One batch, in read order; `cursor` says how far its rows are complete."""

    def close(self) -> None:
        """After the last `put`, even when the run failed: raises a failed commit."""

    def end(self, state: SyncState) -> None:
        """Every row was read: `state` holds the final cursor."""

    def record(self) -> None: ...


class PreviewSink:
    """A dry run: the first conversions kept for the screen, every one counted, none written."""

    def __init__(self, result: SyncResult) -> None:
        self._result = result

    def restart(self, state: SyncState, *, now: float) -> None:
        pass

    def open(self) -> None:
        pass

    def put(self, mapped: MappedBatch, cursor: CursorTracker) -> None:
        result = self._result
        result.enqueued += sum(len(event.jobs) for event in mapped.events)
        for event in mapped.events:
            for job in event.jobs:
                if len(result.preview) >= PREVIEW:
                    return
                result.preview.append(
                    {
                        "message_id": event.message_id,
                        "destination": job.destination,
                        "outcome": "conversion",
                        "pixel_id": job.pixel_id,
                        "conversion": orjson.loads(job.payload),
                        "reason": None,
                    }
                )

    def close(self) -> None:
        pass

    def end(self, state: SyncState) -> None:
        pass

    def record(self) -> None:
        pass


class OutboxSink:
    """Each batch's events committed to the outbox with the cursor its rows make safe."""

    def __init__(
        self, store: SyncStore, result: SyncResult, clock: Callable[[], float], generation: int
    ) -> None:
        self._store = store
        self._result = result
        self._clock = clock
        self._generation = generation
        self._pipeline: _Pipeline | None = None

    def restart(self, state: SyncState, *, now: float) -> None:
        self._generation = state.generation
        self._store.commit_sync_batch(self._result.name, [], state=state, now=now)

    def open(self) -> None:
        self._pipeline = _Pipeline(self._store, self._result, self._clock)

    def put(self, mapped: MappedBatch, cursor: CursorTracker) -> None:
        assert self._pipeline is not None, "put before open"
        state = SyncState(cursor=encode(cursor.safe()), generation=self._generation)
        self._pipeline.put(mapped, state)

    def close(self) -> None:
        if self._pipeline is not None:
            self._pipeline.close()

    def end(self, state: SyncState) -> None:
        self._store.commit_sync_batch(self._result.name, [], state=state, now=self._clock())

    def record(self) -> None:
        """The run's figures as counters (`xconduit_sync_rows_total{sync=…}`, …), for `/metrics`
        and the dashboard; stores without counters (none today) are left alone."""
        add_counts = getattr(self._store, "add_counts", None)
        if not callable(add_counts):
            return
        result = self._result
        labels = (("sync", result.name),)
        add_counts(
            [
                Count("sync_runs", labels),
                Count("sync_rows", labels, result.rows),
                Count("sync_enqueued", labels, result.enqueued),
                Count("sync_rejected", labels, result.rejected),
            ],
            now=self._clock(),
        )


GROUP_BATCHES = 8
"""Batches the commit thread gathers into one transaction (40,000 rows at the default size).
1M plain rows: 5 gave ~50,000 rows/s at ~350 MB peak RSS, 8 ~59,000 at ~395 MB, 10 ~59,000
at ~430 MB (docs: performance)."""


class _Pipeline:
    """Commits batches in read order in a thread of its own while the next batch is read and
    mapped: SQLite works without the GIL, so the two overlap. A failed commit stops the run at
    the next `put`.

    Consecutive batches are committed together, up to `GROUP_BATCHES`, with the last one's
    cursor: each transaction rewrites every page of the dedup index it touches, and a sync's
    message ids are random, so a 5,000-row transaction on a 600,000-row outbox cost ~29 µs a row
    and a 50,000-row one ~11. A group is what waited while the last one was committed: the
    commit never waits for batches to come (it was idle a quarter of a run), batches pile up
    only while the commit is the slower half, and when mapping is (phone numbers, rows for the
    mapping core) each batch is committed alone, so memory stays as it was. At most: the
    group, `GROUP_BATCHES` waiting, one being mapped."""

    def __init__(self, store: SyncStore, result: SyncResult, clock: Callable[[], float]) -> None:
        self._store = store
        self._result = result
        self._clock = clock
        self._queue: queue.Queue[tuple[MappedBatch, SyncState] | None] = queue.Queue(
            maxsize=GROUP_BATCHES
        )
        self._error: BaseException | None = None
        self._ids = array("q")
        """A 64-bit hash of each committed event's id (8 bytes a row), to tell a row repeated
        in this run from one an earlier run committed."""
        self._thread = threading.Thread(target=self._run, name="sync-commit", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        state = SyncState()
        done = False
        while not done:
            item = self._queue.get()  # wait for one batch, then take what else is waiting
            group: list[MappedBatch] = []
            while item is not None:
                group.append(item[0])
                state = item[1]
                if len(group) >= GROUP_BATCHES:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            done = item is None
            if group and self._error is None:
                try:
                    _commit(self._store, self._result, group, state, self._clock(), self._ids)
                except BaseException as error:  # handed to the reading thread
                    self._error = error

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, mapped: MappedBatch, state: SyncState) -> None:
        self._check()
        self._queue.put((mapped, state))

    def close(self) -> None:
        """Wait for the queued commits; raise the first commit's failure, if any."""
        self._queue.put(None)
        self._thread.join()
        self._check()
        if self._result.already_sent:  # else every row was new: none repeated
            repeated = len(self._ids) - _distinct(self._ids)
            self._result.repeated += repeated
            self._result.already_sent -= repeated


def _distinct(ids: array[int]) -> int:
    """How many different values `ids` holds: sorted by Arrow, ~20 MB for a million (a Python
    set took ~75, Arrow's own distinct count ~120)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(ids) < 2:
        return len(ids)
    values = pa.Array.from_buffers(pa.int64(), len(ids), [None, pa.py_buffer(ids)])
    ordered = pc.take(values, pc.array_sort_indices(values))
    same: int = pc.sum(pc.equal(ordered[1:], ordered[:-1])).as_py()
    return len(ids) - same


def _commit(
    store: SyncStore,
    result: SyncResult,
    group: list[MappedBatch],
    state: SyncState,
    now: float,
    ids: array[int],
) -> None:
    events = [event for mapped in group for event in mapped.events]
    commit = store.commit_sync_batch(result.name, events, state=state, now=now)
    note_server_jobs(store, events, commit.accepted, now)  # the both-legs figures
    plain = 0  # new rows of the template, counted here (the core's carry their counts)
    for event, fresh in zip(events, commit.accepted, strict=True):
        ids.append(hash(event.message_id))
        if fresh:
            result.enqueued += len(event.jobs)
            plain += not event.counts
        else:
            result.already_sent += 1
    if plain and group[0].fast_counts:
        counts = [Count(c.name, c.labels, c.value * plain) for c in group[0].fast_counts]
        store.add_counts(counts, now=now)
    result.last_job_id = commit.last_job_id
    result.cursor_after = state.cursor
