"""The run history of each sync (migration 0015), for the dashboard's syncs page.

`run_sync` notes every run it starts, finished, stopped or failed (`note_sync_run`); the page
reads the newest (`sync_runs`). A store keeps the newest `KEEP` runs of each sync. Mixins of the
three stores; each uses its store's `_read` and `_write`.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from xconduit.outbox.sql import load_queries

KEEP = 200
"""Runs kept per sync."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncRun:
    """One run of a sync, as `xconduit sync` summed it up."""

    sync: str
    started_at: float
    seconds: float
    rows_read: int = 0
    enqueued: int = 0
    rejected: int = 0
    repeated: int = 0
    """Rows equal to an earlier row of the same run (a duplicate line in the file)."""
    already_sent: int = 0
    cursor_before: str | None = None
    cursor_after: str | None = None
    outcome: str = "finished"
    """"finished", "stopped" (before the last row) or "failed"."""
    why: str = ""
    """Why it failed, or the notes the run printed (why it read nothing, …)."""
    report: str | None = None
    """The rejected-rows report's file name, if the run wrote one."""


FIELDS = tuple(f.name for f in dataclasses.fields(SyncRun))


@runtime_checkable
class SyncRuns(Protocol):
    def note_sync_run(self, run: SyncRun) -> None:
        """Remember `run` (and forget the sync's runs older than the newest `KEEP`)."""
        ...

    def sync_runs(self, sync: str, *, limit: int = 20) -> list[SyncRun]:
        """The newest `limit` runs of `sync`, newest first."""
        ...


def row_of(values: Any) -> SyncRun:
    return SyncRun(**dict(zip(FIELDS, values, strict=True)))


class SqliteSyncRuns:
    _write: Callable[[], AbstractContextManager[Any]]  # the store's
    _read: Callable[[str, dict[str, Any]], list[Any]]  # the store's

    def note_sync_run(self, run: SyncRun) -> None:
        queries = load_queries("sqlite", "sync_runs.sql")
        with self._write() as conn:
            conn.execute(queries["note_sync_run"], dataclasses.asdict(run))
            conn.execute(queries["forget_old_sync_runs"], {"sync": run.sync, "keep": KEEP})

    def sync_runs(self, sync: str, *, limit: int = 20) -> list[SyncRun]:
        query = load_queries("sqlite", "sync_runs.sql")["sync_runs"]
        return [row_of(tuple(r)) for r in self._read(query, {"sync": sync, "limit": limit})]


class MemorySyncRuns:
    _sync_runs_lock = threading.Lock()

    def note_sync_run(self, run: SyncRun) -> None:
        with self._sync_runs_lock:
            runs = self.__dict__.setdefault("_sync_run_list", {}).setdefault(run.sync, [])
            runs.insert(0, run)
            del runs[KEEP:]

    def sync_runs(self, sync: str, *, limit: int = 20) -> list[SyncRun]:
        with self._sync_runs_lock:
            return list(self.__dict__.get("_sync_run_list", {}).get(sync, [])[:limit])
