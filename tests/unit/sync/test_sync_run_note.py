"""A run as the history keeps it: its outcome and why, and a history that cannot be written
never turns a run into a failure."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from xconduit.errors import StoreError
from xconduit.outbox.memory import MemoryStore
from xconduit.outbox.sync_runs import SyncRun
from xconduit.sync.run import SyncResult
from xconduit.sync.runs import as_run, note_run


def result(**figures: object) -> SyncResult:
    return SyncResult(name="orders", destination="shop", account_id="a", **figures)  # type: ignore[arg-type]


def test_the_outcome_and_why_of_a_run() -> None:
    done = as_run(result(rows=3, report=Path("/r/orders-rejected-x.csv")), started=5.0)
    assert (done.outcome, done.why, done.report, done.started_at) == (
        "finished",
        "",
        "orders-rejected-x.csv",
        5.0,
    )
    stopped = as_run(result(stopped=True, notes=["stopped before the last row"]), started=1.0)
    assert (stopped.outcome, stopped.why) == ("stopped", "stopped before the last row")
    failed = as_run(result(error="the source failed after 2 rows: gone", notes=["n"]), started=1.0)
    assert (failed.outcome, failed.why) == ("failed", "the source failed after 2 rows: gone; n")
    refused = as_run(result(), started=1.0, failed="no such file")
    assert (refused.outcome, refused.why) == ("failed", "no such file")


class BrokenHistory(MemoryStore):
    def note_sync_run(self, run: SyncRun) -> None:
        raise StoreError("disk full")


def test_a_history_that_cannot_be_written_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    note_run(BrokenHistory(), result(rows=1), started=1.0)
    assert "could not be noted in the history: disk full" in caplog.text
    store = MemoryStore()
    note_run(store, result(rows=1), started=1.0)
    assert [r.rows_read for r in store.sync_runs("orders")] == [1]
