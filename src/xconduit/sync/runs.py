"""A sync run noted in the store's run history (`xconduit.outbox.sync_runs`), for the syncs page.

Every run that `run_sync` starts is noted, a failed one with why: a run that read nothing or
failed must say so on the page, not only on the terminal of whoever ran it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from xconduit.outbox.sync_runs import SyncRun, SyncRuns

if TYPE_CHECKING:
    from xconduit.sync.result import SyncResult

log = logging.getLogger("xconduit.sync")


def as_run(result: SyncResult, *, started: float, failed: str | None = None) -> SyncRun:
    error = failed or result.error
    why = "; ".join(filter(None, [error, *result.notes]))
    outcome = "failed" if error else "stopped" if result.stopped else "finished"
    return SyncRun(
        sync=result.name,
        started_at=started,
        seconds=result.seconds,
        rows_read=result.rows,
        enqueued=result.enqueued,
        rejected=result.rejected,
        repeated=result.repeated,
        already_sent=result.already_sent,
        cursor_before=result.cursor_before,
        cursor_after=result.cursor_after,
        outcome=outcome,
        why=why,
        report=result.report.name if result.report else None,
    )


def note_run(
    store: object, result: SyncResult, *, started: float, failed: str | None = None
) -> None:
    """Note the run in `store`'s history; a store that cannot (down, or too old) is logged, and
    the run's own outcome stands."""
    if not isinstance(store, SyncRuns):
        return
    try:
        store.note_sync_run(as_run(result, started=started, failed=failed))
    except Exception as error:  # the run's result matters more than its history line
        log.warning("sync %s: the run could not be noted in the history: %s", result.name, error)
