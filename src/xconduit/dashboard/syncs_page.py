"""The syncs page (/dashboard/syncs): per configured sync, its newest runs and the next one.

Per run: when it started, how long it took, rows read, sent (enqueued), rejected, duplicates in
the file, the cursor before → after, the outcome and why (a run that read nothing says why, as
`xconduit sync` prints it), and its rejected-rows report to download (syncs.py serves it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from xconduit.config import Settings, SyncSettings
from xconduit.dashboard.frame import framed
from xconduit.dashboard.html import esc, table, when
from xconduit.dashboard.syncs import report_file
from xconduit.outbox.sync_runs import SyncRun, SyncRuns
from xconduit.sync.cursor import shown
from xconduit.sync.eta import spoken

if TYPE_CHECKING:
    from xconduit.dashboard.context import DashboardContext

RUNS_SHOWN = 20
HEADS = [
    "started",
    "took",
    "rows read",
    "sent",
    "rejected",
    "duplicates in the file",
    "cursor before → after",
    "outcome",
    "rejected rows",
]
OUTCOME = {
    "finished": "✓ finished",
    "empty": "◐ read nothing",
    "stopped": "◐ stopped early",
    "failed": "✗ failed",
}
CLASS = {"finished": "ok", "empty": "fail", "stopped": "skip", "failed": "fail"}


def next_run(sync: SyncSettings, runs: list[SyncRun], now: float) -> str:
    """When the sync runs next, in words."""
    if sync.schedule <= 0:
        return f"runs when you run <code>xconduit sync {esc(sync.name)}</code>"
    gap = f"{sync.schedule:g} s" if sync.schedule < 60 else spoken(float(sync.schedule))
    every = f"every {esc(gap)} while <code>xconduit serve</code> runs"
    if not runs:
        return f"when <code>xconduit serve</code> starts, then {every}"
    due = runs[0].started_at + sync.schedule
    if due <= now:
        return f"due now ({every})"
    return f"{when(due)} ({every})"


def run_row(run: SyncRun, settings: Settings, reports: Path | None) -> str:
    report = "none"
    if run.report and report_file(reports, settings, run.report) is not None:
        report = f'<a href="/dashboard/reports/{quote(run.report)}">download (values masked)</a>'
    elif run.report:
        report = "deleted"
    kind = "empty" if run.outcome == "finished" and not run.rows_read else run.outcome
    outcome = OUTCOME.get(kind, esc(kind))
    why = f'<div class="why">{esc(run.why)}</div>' if run.why else ""
    cells = [
        (when(run.started_at), "nowrap"),
        (f"{run.seconds:,.1f} s", "nowrap"),
        *((f"{n:,}", "n") for n in (run.rows_read, run.enqueued, run.rejected, run.repeated)),
        (
            f"<code>{esc(shown(run.cursor_before))}</code> → "
            f"<code>{esc(shown(run.cursor_after))}</code>",
            "",
        ),
        (f'<span class="{CLASS.get(kind, "")}">{outcome}</span>{why}', ""),
        (report, ""),
    ]
    # Each cell names its column: on a narrow screen a run is a card of labelled lines.
    tds = "".join(
        f'<td class="{cls}" data-label="{esc(head)}">{content}</td>'
        for head, (content, cls) in zip(HEADS, cells, strict=True)
    )
    return f'<tr class="run {esc(kind)}">{tds}</tr>'


def sync_section(ops: DashboardContext, sync: SyncSettings, now: float) -> str:
    store = ops.store
    runs = store.sync_runs(sync.name, limit=RUNS_SHOWN) if isinstance(store, SyncRuns) else []
    rows = [run_row(run, ops.settings, ops.reports) for run in runs]
    anchor = f"sync-{quote(sync.name)}"
    return (
        f'<section id="{esc(anchor)}" class="sync"><h2>Sync {esc(sync.name)} → '
        f"{esc(sync.destination)}</h2>"
        f'<p>Next run: <span class="next-run">{next_run(sync, runs, now)}</span></p>'
        f'<div class="runs">{table(HEADS, rows, empty="no run yet")}</div></section>'
    )


class SyncsPage:
    def __init__(self, ops: DashboardContext) -> None:
        self.ops = ops

    def routes(self) -> list[Route]:
        return [Route("/dashboard/syncs", self.page, methods=["GET"])]

    async def page(self, request: Request) -> Response:
        ops, now = self.ops, self.ops.clock()
        parts = [
            "<p class=muted>Each warehouse sync's newest runs (last "
            f"{RUNS_SHOWN}), newest first. Sent: conversions put in line for X. Rejected rows "
            "are listed in the run's report, with personal values masked.</p>"
        ]
        parts += [sync_section(ops, sync, now) for sync in ops.settings.syncs]
        if not ops.settings.syncs:
            parts.append(
                "<section><p>No sync is configured (<code>[[syncs]]</code>).</p></section>"
            )
        return framed(ops, "Syncs", "/dashboard/syncs", "".join(parts))
