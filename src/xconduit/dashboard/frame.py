"""Every dashboard page's frame: the navigation, the "Needs attention" banner (one line per root
cause) and the notes above the page's own body."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import HTMLResponse, Response

from xconduit.accounts.fleet import NOBODY_DELIVERS, STORE_UNREAD, Alarm
from xconduit.audiences.listing import audience_problems
from xconduit.dashboard import views
from xconduit.dashboard.html import page
from xconduit.dashboard.problems import RootCause, root_causes

if TYPE_CHECKING:
    from xconduit.dashboard.context import DashboardContext


def causes(ops: DashboardContext, alarm: Alarm | None = None) -> list[RootCause]:
    """The problems of the checks, pauses and processes, one per root cause."""
    alarm = alarm or ops.alarm()
    return root_causes(
        settings=ops.settings,
        checks=alarm.checks(),
        pauses=[p for p, _ in alarm.paused()],
        problems=[(problem, p.name) for problem, p in alarm.reported()],
        waiting=views.waiting(ops.settings, ops.store),
    )


def framed(ops: DashboardContext, title: str, path: str, body: str) -> Response:
    """`body` in the dashboard's frame, as the page at `path`."""
    store = ops.store if hasattr(ops.store, "audience_records") else None
    alarm = ops.alarm()
    found = causes(ops, alarm)
    notes = [STORE_UNREAD] if alarm.unread else [] if alarm.processes else [NOBODY_DELIVERS]
    notes += audience_problems(ops.settings, store)
    return HTMLResponse(page(title, path, body, causes=found, notes=notes))
