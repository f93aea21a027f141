"""One run of a sync: read the source in batches, map each batch, write its rejected rows to the
report, and commit its events with the new cursor in one transaction.

Exactly once: each row's event id is derived from its content (and the sync's generation), so a
row read again after a crash is dropped by the outbox as already sent; the cursor stored with
each batch never passes a row that is not committed (`CursorTracker.safe`).
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xconduit.config import Settings, SyncSettings
from xconduit.errors import ConfigError, SourceError
from xconduit.mapping import format_time
from xconduit.mapping.conversions import FUTURE_SLACK
from xconduit.outbox.syncs import SyncState, SyncStore
from xconduit.sources.params import placeholders
from xconduit.sync.columns import pylist
from xconduit.sync.cursor import CursorGuard, CursorTracker, decode, encode
from xconduit.sync.mapper import MappedBatch, RowMapper, destination_of
from xconduit.sync.parallel import map_batches
from xconduit.sync.report import RejectedReport, Rejection
from xconduit.sync.result import Progress, SyncResult
from xconduit.sync.runs import note_run
from xconduit.sync.sinks import OutboxSink, PreviewSink, Sink

if TYPE_CHECKING:
    import pyarrow as pa

    from xconduit.sources import Source
    from xconduit.sources.lines import LineProblem

__all__ = ["Progress", "SyncResult", "default_query", "find_sync", "run_sync"]


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
    batch: True ends the run there (the cursor stays where the committed rows leave it). A dry
    run maps the same rows into a `PreviewSink` instead of the outbox."""
    run = _Run(settings, name, store, clock=clock, dry_run=dry_run)
    sink: Sink = (
        PreviewSink(run.result)
        if dry_run
        else OutboxSink(store, run.result, clock, run.state.generation)
    )
    try:
        run.start(sink, full=full, reports=reports)
        with closing(run.report), run.source(base_dir) as src:
            run.batches(src, sink, on_progress=on_progress, should_stop=should_stop)
            _unreadable(run.result, run.report, src.problems)
            run.result.notes.extend(src.notes)
        result = run.finish(sink)
    except Exception as error:  # a run that could not start or stopped on an error
        run.result.seconds = clock() - run.started
        if not dry_run:
            note_run(store, run.result, started=run.started, failed=str(error))
        raise
    if not dry_run:
        note_run(store, result, started=run.started)
    return result


class _Run:
    """One run's state: the rows read so far, the cursor they make safe, the report."""

    def __init__(
        self,
        settings: Settings,
        name: str,
        store: SyncStore,
        *,
        clock: Callable[[], float],
        dry_run: bool,
    ) -> None:
        self.settings = settings
        self.sync = sync = find_sync(settings, name)
        dest = destination_of(settings, sync)
        self.clock = clock
        self.started = clock()
        self.now = datetime.fromtimestamp(self.started, UTC)
        self.received_at = format_time(self.now)
        self.mapper = RowMapper(settings, sync, received_at=self.received_at)
        self.store = store
        self.state = store.sync_state(name) or SyncState()
        self.result = SyncResult(
            name=name,
            destination=dest.name,
            account_id=dest.account_id,
            dry_run=dry_run,
            cursor_before=self.state.cursor,
        )
        self.complete = True
        """False when the run stopped before the last row (`should_stop`)."""

    def start(self, sink: Sink, *, full: bool, reports: Path) -> None:
        """`--full` starts a new generation; the cursor the query is bound to."""
        result, sync = self.result, self.sync
        if full:
            self.state = SyncState(cursor=None, generation=self.state.generation + 1)
            result.notes.append(
                "--full: every row is sent again; X counts a conversion id once (docs: cli-sync)"
            )
            sink.restart(self.state, now=self.started)
        result.cursor_after = self.state.cursor
        start = decode(self.state.cursor)
        if start is None and sync.cursor_start is not None:
            start = sync.cursor_start
        self.tracker = CursorTracker(start)
        self.guard = CursorGuard(start=start, now=self.now) if sync.cursor else None
        self._cursor_values: deque[list[Any]] = deque()  # of batches read, not yet counted
        self.report = RejectedReport(reports, result.name, started=self.now)
        result.first_job_id = self.store.last_job_id() + 1
        result.last_job_id = result.first_job_id - 1
        # :now lets a query bound its rows by the run's time (X attributes up to 90 days).
        self.params = {"cursor": self.tracker.start, "now": self.now}

    @contextmanager
    def source(self, base_dir: Path | None) -> Iterator[Source]:
        """The sync's source, opened on its query; it must return every mapped column."""
        from xconduit.sources import open_source

        sync = self.sync
        with open_source(
            sync.source,
            query=default_query(sync),
            params=self.params,
            batch_rows=sync.batch_rows,
            base_dir=base_dir,
            bad_lines="report",
        ) as src:
            if missing := self.mapper.missing(src.columns):
                raise SourceError(
                    f"the query returns no column {', '.join(missing)} "
                    f"(it returns {', '.join(src.columns)})"
                )
            yield src

    def batches(
        self,
        src: Source,
        sink: Sink,
        *,
        on_progress: Progress | None,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        """Read, map and hand each batch to `sink`; a source failing mid-read ends the run
        with `result.error` (what the sink took stays)."""
        result = self.result
        batches = map_batches(
            self._checked(src),
            self.mapper,
            generation=self.state.generation,
            workers=self.sync.workers,
            settings=self.settings,
            name=result.name,
            received_at=self.received_at,
        )
        sink.open()
        try:
            for batch, refused, _, mapped in batches:
                self._take(batch.num_rows, refused, mapped)
                sink.put(mapped, self.tracker)
                _count(result, mapped, self.report)
                if on_progress:
                    on_progress(result)
                if should_stop is not None and should_stop():
                    self.complete = False
                    result.stopped = True
                    result.notes.append("stopped before the last row; the next run resumes")
                    break
        except SourceError as error:
            result.error = f"the source failed after {result.rows:,} rows: {error}"
        finally:
            batches.close()  # stops the mapping processes, if any
            sink.close()

    def _checked(self, src: Source) -> Iterator[tuple[pa.RecordBatch, dict[int, str]]]:
        """Each batch with its rows refused for their cursor value (row index → why)."""
        for batch in src.batches():
            if self.guard is None:
                yield batch, {}
                continue
            column = batch.column(self.sync.cursor)
            values = pylist(column)
            self._cursor_values.append(values)
            yield batch, self.guard.check(column, values)

    def _take(self, rows: int, refused: dict[int, str], mapped: MappedBatch) -> None:
        """A mapped batch's cursor values and rejected rows, in read order."""
        result = self.result
        if self.sync.cursor:
            values = self._cursor_values.popleft()
            if refused:  # these rows must not move the cursor
                values = [v for i, v in enumerate(values) if i not in refused]
                result.cursor_refused += len(refused)
            for value in values:
                self.tracker.see(value)
        result.rows += rows
        self.report.write(
            sorted(mapped.rejections + mapped.dropped, key=lambda r: r.row)
            if mapped.dropped
            else mapped.rejections
        )

    def finish(self, sink: Sink) -> SyncResult:
        """The final cursor once every row was read; the notes; the run's counters."""
        result, sync, tracker = self.result, self.sync, self.tracker
        if self.complete and result.error is None:
            state = SyncState(cursor=encode(tracker.final()), generation=self.state.generation)
            sink.end(state)
            result.cursor_after = state.cursor
        result.notes.extend(_silences(sync, result, self.params["cursor"]))
        if sync.cursor and not tracker.ordered:
            result.notes.append(
                f"rows did not come in {sync.cursor} order: add ORDER BY {sync.cursor} to the "
                "query so that an interrupted run resumes where it stopped instead of "
                "re-reading all"
            )
        result.seconds = self.clock() - self.started
        sink.record()
        return result


def _count(result: SyncResult, mapped: MappedBatch, report: RejectedReport) -> None:
    result.rejected += len(mapped.rejections)
    result.dropped += len(mapped.dropped)
    result.skipped += mapped.skipped
    if report.lines:
        result.report = report.path


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
