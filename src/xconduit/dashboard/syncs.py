"""The overview's "Syncs and audiences" section and the rejected-rows report download.

Per sync: its last run (when its state was last committed), cursor, and the rows read, enqueued
and rejected over all runs (the `sync_*` counters each run adds), with a link to its newest
rejected-rows report. The audiences: one line, linking to their page (audiences_page.py).

A report is served only if it is a file directly in the reports folder named
`<configured sync>-rejected-<UTC>.csv`: anything else (`..`, a slash, another file) is a 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from xconduit.config import Settings
from xconduit.dashboard.audiences_page import summary as audiences_summary
from xconduit.dashboard.html import esc, num, table, when
from xconduit.sync.cursor import shown

if TYPE_CHECKING:
    from xconduit.dashboard.context import DashboardContext

REPORT_NAME = re.compile(r"(?P<sync>.+)-rejected-\d{8}T\d{6}Z\.csv")
FIGURES = ("rows", "enqueued", "rejected")
"""The `sync_<figure>` counters shown per sync."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncLine:
    name: str
    last_run: float | None
    cursor: str
    totals: dict[str, float]
    report: str | None
    """The newest rejected-rows report's file name, if any."""


def report_file(folder: Path | None, settings: Settings, name: str) -> Path | None:
    """The report `name` if it is one a configured sync wrote into `folder`, else None."""
    match = REPORT_NAME.fullmatch(name)
    if folder is None or match is None or "/" in name or "\\" in name or ".." in name:
        return None
    if match["sync"] not in {s.name for s in settings.syncs}:
        return None
    path = folder / name
    if not path.is_file() or path.resolve().parent != folder.resolve():
        return None
    return path


def newest_report(folder: Path | None, sync: str) -> str | None:
    if folder is None or not folder.is_dir():
        return None
    names = [
        p.name
        for p in folder.glob(f"{glob_escape(sync)}-rejected-*.csv")
        if (m := REPORT_NAME.fullmatch(p.name)) and m["sync"] == sync
    ]
    return max(names, default=None)  # the UTC stamp sorts as text


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def sync_lines(settings: Settings, store: Any, reports: Path | None) -> list[SyncLine]:
    totals: dict[tuple[str, str], float] = {}
    for row in store.counter_totals():
        if row.name.startswith("sync_") and "sync" in row.labels:
            totals[row.name.removeprefix("sync_"), row.labels["sync"]] = row.value
    lines = []
    for sync in settings.syncs:
        state = store.sync_state(sync.name) if hasattr(store, "sync_state") else None
        lines.append(
            SyncLine(
                name=sync.name,
                last_run=state.updated_at if state else None,
                cursor=shown(state.cursor) if state else "(start)",
                totals={f: totals.get((f, sync.name), 0.0) for f in FIGURES},
                report=newest_report(reports, sync.name),
            )
        )
    return lines


class SyncsSection:
    def __init__(self, ops: DashboardContext) -> None:
        self.ops = ops

    def routes(self) -> list[Route]:
        return [Route("/dashboard/reports/{name:path}", self.report, methods=["GET"])]

    async def report(self, request: Request) -> Response:
        name = request.path_params["name"]
        path = report_file(self.ops.reports, self.ops.settings, name)
        if path is None:
            return HTMLResponse("<p>404: no such rejected-rows report</p>", 404)
        return FileResponse(path, media_type="text/csv; charset=utf-8")

    def html(self) -> str:
        settings, store = self.ops.settings, self.ops.store
        rows = []
        for s in sync_lines(settings, store, self.ops.reports):
            link = (
                f'<a href="/dashboard/reports/{quote(s.report)}">{esc(s.report)}</a>'
                if s.report
                else "none"
            )
            cells = "".join(num(s.totals[f], f"sync.{s.name}.{f}") for f in FIGURES)
            rows.append(
                f"<tr><td>{esc(s.name)}</td><td>{when(s.last_run)}</td>"
                f"<td><code>{esc(s.cursor)}</code></td>{cells}<td>{link}</td></tr>"
            )
        heads = ["sync", "last run", "cursor", "rows read", "sent", "rejected", "report"]
        return (
            '<section id="syncs"><h2>Syncs and audiences</h2>'
            "<p class=muted>Rows are totals over every run; the report lists the newest run's "
            'rejected rows (values masked). Each run: <a href="/dashboard/syncs">see the syncs'
            "</a>.</p>"
            f"{table(heads, rows, empty='no sync configured')}{audiences_summary(self.ops)}"
            "</section>"
        )
