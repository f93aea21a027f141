"""One run of a sync: read the source in batches, map each batch, write its rejected rows to the
report, and commit its events with the new cursor in one transaction.

Exactly once: each row's event id is derived from its content (and the sync's generation), so a
row read again after a crash is dropped by the outbox as already sent; the cursor stored with
each batch never passes a row that is not committed (`CursorTracker.safe`).
"""

from __future__ import annotations

import queue
import re
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from xconduit.config import Settings, SyncSettings
from xconduit.errors import ConfigError, SourceError
from xconduit.mapping import format_time
from xconduit.mapping.conversions import FUTURE_SLACK
from xconduit.outbox.counts import Count
from xconduit.outbox.syncs import SyncState, SyncStore
from xconduit.sources.params import placeholders
from xconduit.sync.columns import pylist
from xconduit.sync.cursor import CursorGuard, CursorTracker, decode, encode
from xconduit.sync.mapper import MappedBatch, RowMapper, destination_of
from xconduit.sync.parallel import map_batches
from xconduit.sync.report import RejectedReport, Rejection

if TYPE_CHECKING:
    import pyarrow as pa

    from xconduit.sources.lines import LineProblem

PREVIEW = 10
"""Conversions a dry run prints."""


@dataclass(kw_only=True)
class SyncResult:
    """What one run did (figures are rows unless named otherwise)."""

    name: str
    destination: str
    account_id: str
    dry_run: bool = False
    rows: int = 0
    enqueued: int = 0
    """New conversions committed to the outbox."""
    already_sent: int = 0
    """Rows committed by an earlier run (read again after a crash, or unchanged rows)."""
    repeated: int = 0
    """Rows equal to an earlier row of this run (a duplicate line in the file, say)."""
    rejected: int = 0
    dropped: int = 0
    """Fields left out of rows that were sent, each named in the report."""
    unreadable: int = 0
    """Lines of a file that are no rows (part of `rejected`; the report gives each line)."""
    cursor_refused: int = 0
    """Rejected rows whose cursor value is not of the cursor's kind or lies in the future: the
    cursor does not pass them (part of `rejected`)."""
    skipped: int = 0
    """Rows the destination's consent or suppression rules keep from X."""
    cursor_before: str | None = None
    cursor_after: str | None = None
    report: Path | None = None
    first_job_id: int = 0
    last_job_id: int = 0
    seconds: float = 0.0
    preview: list[dict[str, Any]] = field(default_factory=list)
    """The first conversions, as `xconduit map` prints them (dry runs)."""
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    """Why the run stopped early (the source failed mid-read); what was committed stays."""


Progress = Callable[[SyncResult], None]


def find_sync(settings: Settings, name: str) -> SyncSettings:
    sync = next((s for s in settings.syncs if s.name == name), None)
    if sync is None:
        known = ", ".join(s.name for s in settings.syncs) or "none is configured"
        raise ConfigError(f'no sync is named "{name}" (syncs: {known})')
    return sync


def default_query(sync: SyncSettings) -> str:
    """For files without a query: every row, or the rows past the cursor in cursor order."""
    if sync.query.strip() or not sync.cursor or "://" in sync.source:
        return sync.query
    column = '"' + sync.cursor.replace('"', '""') + '"'
    return f"select * from source where :cursor is null or {column} > :cursor order by {column}"


def run_sync(
    settings: Settings,
    name: str,
    store: SyncStore,
    *,
    reports: Path,
    full: bool = False,
    dry_run: bool = False,
    base_dir: Path | None = None,
    clock: Callable[[], float] = time.time,
    on_progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SyncResult:
    """Run sync `name` once. Raises `ConfigError` or `SourceError` when it cannot start; a source
    failing mid-read ends the run with `result.error` set. `should_stop` is asked after each
    batch: True ends the run there (the cursor stays where the committed rows leave it)."""
    from xconduit.sources import open_source

    sync = find_sync(settings, name)
    dest = destination_of(settings, sync)
    started = clock()
    received_at = format_time(datetime.fromtimestamp(started, UTC))
    mapper = RowMapper(settings, sync, received_at=received_at)
    state = store.sync_state(name) or SyncState()
    result = SyncResult(
        name=name,
        destination=dest.name,
        account_id=dest.account_id,
        dry_run=dry_run,
        cursor_before=state.cursor,
    )
    if full:
        state = SyncState(cursor=None, generation=state.generation + 1)
        result.notes.append(
            "--full: every row is sent again; X counts a conversion id once (docs: cli-sync)"
        )
        if not dry_run:
            store.commit_sync_batch(name, [], state=state, now=started)
    result.cursor_after = state.cursor
    start = decode(state.cursor)
    if start is None and sync.cursor_start is not None:
        start = sync.cursor_start
    tracker = CursorTracker(start)
    now = datetime.fromtimestamp(started, UTC)
    guard = CursorGuard(start=start, now=now) if sync.cursor else None
    report = RejectedReport(reports, name, started=now)
    result.first_job_id = store.last_job_id() + 1
    result.last_job_id = result.first_job_id - 1
    params = {"cursor": tracker.start}
    complete = True
    try:
        with open_source(
            sync.source,
            query=default_query(sync),
            params=params,
            batch_rows=sync.batch_rows,
            base_dir=base_dir,
            bad_lines="report",
        ) as src:
            if missing := mapper.missing(src.columns):
                raise SourceError(
                    f"the query returns no column {', '.join(missing)} "
                    f"(it returns {', '.join(src.columns)})"
                )
            pipeline = None if dry_run else _Pipeline(store, result, clock)

            cursor_values: deque[list[Any]] = deque()  # of the batches read, not yet counted

            def checked() -> Iterator[tuple[pa.RecordBatch, dict[int, str]]]:
                for batch in src.batches():
                    if guard is None:
                        yield batch, {}
                        continue
                    column = batch.column(sync.cursor)
                    values = pylist(column)
                    cursor_values.append(values)
                    yield batch, guard.check(column, values)

            batches = map_batches(
                checked(),
                mapper,
                generation=state.generation,
                workers=sync.workers,
                settings=settings,
                name=name,
                received_at=received_at,
            )
            try:
                for batch, refused, _, mapped in batches:
                    if sync.cursor:
                        values = cursor_values.popleft()
                        if refused:  # these rows must not move the cursor
                            values = [v for i, v in enumerate(values) if i not in refused]
                            result.cursor_refused += len(refused)
                        for value in values:
                            tracker.see(value)
                    result.rows += batch.num_rows
                    report.write(
                        sorted(mapped.rejections + mapped.dropped, key=lambda r: r.row)
                        if mapped.dropped
                        else mapped.rejections
                    )
                    if dry_run:
                        _preview(result, mapped)
                    elif pipeline is not None:
                        state = SyncState(
                            cursor=encode(tracker.safe()), generation=state.generation
                        )
                        pipeline.put(mapped, state)
                    _count(result, mapped, report)
                    if on_progress:
                        on_progress(result)
                    if should_stop is not None and should_stop():
                        complete = False
                        result.notes.append("stopped before the last row; the next run resumes")
                        break
            except SourceError as error:
                result.error = f"the source failed after {result.rows:,} rows: {error}"
            finally:
                batches.close()  # stops the mapping processes, if any
                if pipeline is not None:
                    pipeline.close()
            _unreadable(result, report, src.problems)
            result.notes.extend(src.notes)
    finally:
        report.close()
    if complete and result.error is None:
        state = SyncState(cursor=encode(tracker.final()), generation=state.generation)
        if not dry_run:
            store.commit_sync_batch(name, [], state=state, now=clock())
        result.cursor_after = state.cursor
    result.notes.extend(_silences(sync, result, params["cursor"]))
    if sync.cursor and not tracker.ordered:
        result.notes.append(
            f"rows did not come in {sync.cursor} order: add ORDER BY {sync.cursor} to the query "
            "so that an interrupted run resumes where it stopped instead of re-reading all"
        )
    result.seconds = clock() - started
    if not dry_run:
        _record(store, result, clock())
    return result


def _unreadable(result: SyncResult, report: RejectedReport, problems: list[LineProblem]) -> None:
    """Lines of the source file that are no rows: in the report, counted as rejected."""
    report.write(
        [
            Rejection(
                row=0,
                line=f"{p.file}:{p.line}",
                cursor=None,
                conversion_id="",
                field="",
                column=p.column,
                rule=p.rule,
            )
            for p in problems
        ]
    )
    result.unreadable += len(problems)
    result.rejected += len(problems)
    if report.lines:
        result.report = report.path


def _silences(sync: SyncSettings, result: SyncResult, bound: Any) -> list[str]:
    """Why a run read nothing, or passed over rows without sending them."""
    notes = []
    if result.unreadable:
        notes.append(
            f"{result.unreadable:,} lines of the file are no rows (not UTF-8, a NUL byte, an "
            "unclosed quote, too long, a wrong number of columns…): each is in the report with "
            "its line number; the other rows were read"
        )
    if result.cursor_refused:
        notes.append(
            f"{result.cursor_refused:,} rows rejected for their {sync.cursor} value (more than "
            f"{FUTURE_SLACK.seconds // 60} minutes in the future, or not of the cursor's kind): "
            "the cursor stays before them and the next run reads them again (see the report)"
        )
    if result.rows or result.error or result.unreadable:
        return notes
    query = default_query(sync)
    uses_cursor = any(p.name == "cursor" for p in placeholders(query))
    if bound is None and uses_cursor and not _NULL_TEST.search(query):
        notes.append(
            "read 0 rows: :cursor is NULL on the first run (and after --full), and a comparison "
            f"with NULL is never true. Write `where :cursor is null or {sync.cursor or 'column'} "
            "> :cursor`, or set cursor_start (docs: cli-sync)"
        )
    elif bound is not None and uses_cursor:
        notes.append(f"read 0 rows: none is past the cursor {bound}")
    else:
        notes.append("read 0 rows: the source returned none")
    return notes


_NULL_TEST = re.compile(r":cursor\s+is\s+null", re.IGNORECASE)


def _record(store: SyncStore, result: SyncResult, now: float) -> None:
    """The run's figures as counters (`xconduit_sync_rows_total{sync=…}`, …), for `/metrics`
    and the dashboard; stores without counters (none today) are left alone."""
    add_counts = getattr(store, "add_counts", None)
    if not callable(add_counts):
        return
    labels = (("sync", result.name),)
    add_counts(
        [
            Count("sync_runs", labels),
            Count("sync_rows", labels, result.rows),
            Count("sync_enqueued", labels, result.enqueued),
            Count("sync_rejected", labels, result.rejected),
        ],
        now=now,
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
    for event, fresh in zip(events, commit.accepted, strict=True):
        ids.append(hash(event.message_id))
        if fresh:
            result.enqueued += len(event.jobs)
        else:
            result.already_sent += 1
    result.last_job_id = commit.last_job_id
    result.cursor_after = state.cursor


def _count(result: SyncResult, mapped: MappedBatch, report: RejectedReport) -> None:
    result.rejected += len(mapped.rejections)
    result.dropped += len(mapped.dropped)
    result.skipped += mapped.skipped
    if report.lines:
        result.report = report.path
    if result.dry_run:
        result.enqueued += sum(len(event.jobs) for event in mapped.events)


def _preview(result: SyncResult, mapped: MappedBatch) -> None:
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
