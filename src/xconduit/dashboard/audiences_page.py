"""The audiences page (/dashboard/audiences): per configured audience, its members at X per
identifier type, the changes waiting (adds, removes, sent but not yet accepted), the last and
next flush and snapshot, and what failed with the way out. The overview shows one line
(`summary`) linking here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from xconduit.audiences.listing import AudienceLine, audience_lines, problem_line
from xconduit.config import AudienceSettings
from xconduit.dashboard.frame import framed
from xconduit.dashboard.html import esc, num, table, when
from xconduit.outbox.audience_breakdown import AudienceBreakdown, AudienceBreakdowns
from xconduit.outbox.audience_jobs import audience_destination
from xconduit.outbox.jobs import JobStatus
from xconduit.sync.eta import spoken

if TYPE_CHECKING:
    from xconduit.dashboard.context import DashboardContext

IDENTIFIERS = {
    "email": "email",
    "phone_number": "phone",
    "handle": "X handle",
    "twitter_id": "X user id",
    "device_id": "device id",
    "partner_user_id": "your user id",
}
"""X's identifier types, in the words of the page."""
REPLAY_FIX = "fix the cause, then replay them on the Dead letters page"


def _store(ops: DashboardContext) -> Any:
    return ops.store if hasattr(ops.store, "audience_records") else None


def lines(ops: DashboardContext) -> list[AudienceLine]:
    return audience_lines(ops.settings, _store(ops))


def summary(ops: DashboardContext) -> str:
    """The overview's one line about the audiences."""
    found = lines(ops)
    if not found:
        return ""
    members = sum(a.members for a in found)
    pending = sum(a.pending for a in found)
    problems = sum(1 for a in found if a.problem or dead(ops, a.name))
    trouble = f" · ✗ {problems} with a failure" if problems else " · ✓ no failure"
    return (
        f'<p id="audiences-summary">{len(found)} audience{"s" if len(found) != 1 else ""}: '
        f"{members:,} members at X, {pending:,} changes waiting{trouble} · "
        '<a href="/dashboard/audiences">see the audiences</a></p>'
    )


def dead(ops: DashboardContext, name: str) -> int:
    counts = ops.store.counts().get(audience_destination(name), {})
    return int(counts.get(JobStatus.DEAD, 0))


def next_flush(
    audience: AudienceSettings, b: AudienceBreakdown, since: float | None, now: float
) -> str:
    if not (b.pending_adds or b.pending_removes) or since is None:
        return "nothing waiting"
    due = since + float(audience.flush_interval)
    if b.pending_adds + b.pending_removes >= audience.flush_users or due <= now:
        return "due now"
    return f"{when(due)} (or at {audience.flush_users:,} changes)"


def next_snapshot(audience: AudienceSettings, last: float | None, now: float) -> str:
    if not audience.source:
        return "none: the audience follows events as they arrive"
    if audience.schedule <= 0:
        return f"when you run `xconduit audiences sync {audience.name}`"
    every = f"every {spoken(float(audience.schedule))} while `xconduit serve` runs"
    if last is None:
        return f"when `xconduit serve` starts, then {every}"
    due = last + float(audience.schedule)
    return f"due now ({every})" if due <= now else f"{when(due)} ({every})"


def failures(ops: DashboardContext, line: AudienceLine) -> list[str]:
    found = []
    if line.problem:
        found.append(f'<li><b class="fail">✗</b> {esc(problem_line(line.name, line.problem))}</li>')
    n = dead(ops, line.name)
    if n:
        found.append(
            f'<li><b class="fail">✗</b> X refused {n:,} request{"s" if n != 1 else ""} '
            "to this audience: "
            f'{esc(REPLAY_FIX)} (<a href="/dashboard/dead">Dead letters</a>)</li>'
        )
    return found


def waiting(name: str, b: AudienceBreakdown) -> str:
    adds = f'<span data-metric="audience.{esc(name)}.adds">{b.pending_adds:,}</span>'
    removes = f'<span data-metric="audience.{esc(name)}.removes">{b.pending_removes:,}</span>'
    return (
        f"{adds} add{'s' if b.pending_adds != 1 else ''}, "
        f"{removes} remove{'s' if b.pending_removes != 1 else ''}"
    )


def audience_section(ops: DashboardContext, audience: AudienceSettings, line: AudienceLine) -> str:
    store, now, name = ops.store, ops.clock(), audience.name
    b = store.audience_breakdown(name) if isinstance(store, AudienceBreakdowns) else None
    b = b or AudienceBreakdown()
    since = store.audience_pending(name)[1] if hasattr(store, "audience_pending") else None
    kinds = dict.fromkeys([*audience.identifiers, *b.members_by_identifier])
    id_rows = [
        f"<tr><td>{esc(IDENTIFIERS.get(k, k))}</td>"
        f"{num(b.members_by_identifier.get(k, 0), f'audience.{name}.members.{k}')}</tr>"
        for k in kinds
    ]
    sent = max(line.pending - b.pending_adds - b.pending_removes, 0)
    facts = [
        (
            "X audience",
            esc(f"{line.audience_id} · {line.x_name}")
            if line.audience_id
            else "created at X on the first sync",
        ),
        (
            "members at X",
            f'<span data-metric="audience.{esc(name)}.members">{line.members:,}</span>',
        ),
        ("waiting for a flush", waiting(name, b)),
        (
            "sent, not yet accepted by X",
            f'<span data-metric="audience.{esc(name)}.sent">{sent:,}</span>',
        ),
        ("last flush", when(line.last_flush_at)),
        ("next flush", esc(next_flush(audience, b, since, now))),
        ("last snapshot compared", when(line.last_run_at)),
        ("next snapshot", esc(next_snapshot(audience, line.last_run_at, now))),
    ]
    fact_rows = [f"<tr><th scope=row>{k}</th><td>{v}</td></tr>" for k, v in facts]
    trouble = failures(ops, line)
    status = (
        f'<ul class="failures">{"".join(trouble)}</ul>'
        if trouble
        else '<p class="ok">✓ no failure</p>'
    )
    return (
        f'<section id="audience-{esc(quote(name))}" class="audience"><h2>Audience {esc(name)}'
        f"</h2>{status}{table(['', ''], fact_rows)}<h3>Members at X per identifier</h3>"
        "<p class=muted>A member sent with several identifiers counts under each.</p>"
        f"<div class=compact>{table(['identifier', 'members'], id_rows, empty='none yet')}</div>"
        "</section>"
    )


class AudiencesPage:
    def __init__(self, ops: DashboardContext) -> None:
        self.ops = ops

    def routes(self) -> list[Route]:
        return [Route("/dashboard/audiences", self.page, methods=["GET"])]

    async def page(self, request: Request) -> Response:
        ops = self.ops
        found = {a.name: a for a in lines(ops)}
        parts = [
            "<p class=muted>X updates an audience in batches every few hours: members at X are "
            "the users X accepted; changes wait here until the next flush.</p>"
        ]
        parts += [audience_section(ops, a, found[a.name]) for a in ops.settings.audiences]
        if not ops.settings.audiences:
            parts.append(
                "<section><p>No audience is configured (<code>[[audiences]]</code>).</p></section>"
            )
        return framed(ops, "Audiences", "/dashboard/audiences", "".join(parts))
