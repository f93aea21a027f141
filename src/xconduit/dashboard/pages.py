"""The dashboard's pages: overview, live debugger, dead letters (replay, purge), connection."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from xconduit.accounts.check import seeded_from_config, shown_subject
from xconduit.accounts.fleet import NOBODY_DELIVERS, Alarm
from xconduit.config.identity import ownership
from xconduit.dashboard import debugger as debug
from xconduit.dashboard import views
from xconduit.dashboard.charts import hour_rows
from xconduit.dashboard.frame import causes, framed
from xconduit.dashboard.html import esc, num, table, when
from xconduit.dashboard.legs import legs_section
from xconduit.dashboard.match_page import match_section
from xconduit.dashboard.overview import destination_section
from xconduit.dashboard.problems import (
    RootCause,
    check_anchor,
    in_config_words,
    pause_anchor,
)
from xconduit.dashboard.syncs import SyncsSection
from xconduit.dashboard.waiting_classes import waiting_classes
from xconduit.errors import XconduitError
from xconduit.outbox import JobStatus
from xconduit.outbox.check_runs import CheckRuns
from xconduit.outbox.owners import foreign_line

if TYPE_CHECKING:
    from xconduit.dashboard.context import DashboardContext

CHECK_HEADS = ["", "subject", "check", "result", "fix"]


class Pages:
    def __init__(self, ops: DashboardContext) -> None:
        self.ops = ops

    def routes(self) -> list[Route]:
        return [
            Route("/", self.overview, methods=["GET"]),
            Route("/dashboard/debugger", self.debugger, methods=["GET"]),
            Route("/dashboard/dead", self.dead, methods=["GET"]),
            Route("/dashboard/dead/replay", self.replay, methods=["POST"]),
            Route("/dashboard/dead/purge", self.purge, methods=["POST"]),
            Route("/dashboard/connection", self.connection, methods=["GET"]),
            Route("/dashboard/engine", self.engine, methods=["GET"]),
            Route("/dashboard/checks", self.run_checks, methods=["POST"]),
        ]

    def _causes(self, alarm: Alarm | None = None) -> list[RootCause]:
        return causes(self.ops, alarm)

    def _page(self, title: str, path: str, body: str) -> Response:
        return framed(self.ops, title, path, body)

    # -- overview --------------------------------------------------------------------------

    async def overview(self, request: Request) -> Response:
        ops, now = self.ops, self.ops.clock()
        parts = []
        foreign = ops.foreign_jobs()
        if foreign:  # never listed as destinations of this configuration, only counted
            parts.append(
                f'<p class="muted" id="foreign-events">{foreign:,} events in this store belong '
                "to other configurations: not shown here, never sent from here (see the "
                '<a href="/dashboard/engine">delivery engine</a>).</p>'
            )
        settings, store = ops.settings, ops.store
        budgets = {b.account_id: b for b in views.rate_budgets(settings, store, now=now)}
        accounts = {d.name: d.account_id for d in settings.conversions}
        causes = self._causes()
        hours = hour_rows(store, now)
        classes = waiting_classes(settings, store, budgets, now=now)
        for o in views.outcomes(settings, store, now=now):
            account = accounts.get(o.name)
            if account is None:  # an audience: its own page, not a conversion row
                continue
            parts.append(
                destination_section(
                    o,
                    hours=hours,
                    classes=classes.get(o.name, ()),
                    budget=budgets.get(account),
                    holds=[c for c in causes if o.name in c.destinations],
                    now=now,
                )
            )
        parts.append(self._match_quality(now))
        parts.append(legs_section(settings, store, now=now))
        parts.append(self._rate_budget(now))
        parts.append(self._syncs_and_audiences())
        return self._page("Overview", "/", "".join(parts))

    def _match_quality(self, now: float) -> str:
        return match_section(self.ops.settings, self.ops.store, now=now)

    def _rate_budget(self, now: float) -> str:
        rows = []
        for b in views.rate_budgets(self.ops.settings, self.ops.store, now=now):
            drained = "–" if b.drained_at is None else when(b.drained_at)
            rows.append(
                f"<tr><td>{esc(b.account_id)}</td>{num(b.used, f'{b.account_id}.budget.used')}"
                f"{num(b.allowed)}<td>{when(b.next_reset)}</td>"
                f"{num(b.backlog, f'{b.account_id}.budget.backlog')}<td>{drained}</td></tr>"
            )
        window = int(self.ops.settings.delivery.window // 60)
        heads = [
            "account",
            "sent in the window",
            "allowed",
            "window frees up",
            "waiting",
            "all sent by",
        ]
        return (
            f'<section id="budget"><h2>Rate budget per account ({window}-minute window)</h2>'
            f"{table(heads, rows)}</section>"
        )

    def _syncs_and_audiences(self) -> str:
        return SyncsSection(self.ops).html()

    # -- delivery engine (the operator's view) -------------------------------------------------

    async def engine(self, request: Request) -> Response:
        ops, now = self.ops, self.ops.clock()
        parts = [
            "<p class=muted>The outbox as the delivery processes see it: the counters by "
            "outcome and the jobs by state. The overview says the same in a marketer's words.</p>"
        ]
        foreign = ops.foreign_jobs()
        if foreign:  # never listed as destinations of this configuration, only counted
            parts.append(f'<p class="muted" id="foreign-jobs">{esc(foreign_line(foreign))}</p>')
        for d in views.overview(ops.settings, ops.store, now=now):
            rows = []
            for span, amounts in (("hour", d.hour), ("day", d.day)):
                cells = "".join(
                    num(getattr(amounts, k), f"{d.name}.{span}.{k}")
                    for k in ("received", "filtered", "invalid", "delivered", "retried", "dead")
                )
                rows.append(f"<tr><td>last {span}</td>{cells}</tr>")
            heads = ["", "received", "filtered", "invalid", "delivered", "retried", "dead"]
            states = "".join(
                f"<tr><td>{esc(s)}</td>{num(d.states.get(s, 0), f'{d.name}.now.{s}')}</tr>"
                for s in ("pending", "in_flight", "retry_scheduled", "dead")
            )
            parts.append(
                f'<section id="engine-{esc(d.name)}"><h2>Destination {esc(d.name)}</h2>'
                f"{table(heads, rows)}"
                f"<h3>Now in the outbox</h3>{table(['state', 'jobs'], [states])}</section>"
            )
        return self._page("Delivery engine", "/dashboard/engine", "".join(parts))

    # -- live debugger -----------------------------------------------------------------------

    async def debugger(self, request: Request) -> Response:
        q = request.query_params
        source = q.get("source") or None
        event = q.get("event") or None
        outcome = q.get("outcome") or None
        lines = views.debugger(self.ops.store, source=source, event=event, outcome=outcome)
        lines = views.per_source(lines, 100)
        sources = [s.name for s in self.ops.settings.sources]
        form = debug.filters(sources, source=source, event=event, outcome=outcome)
        held: dict[str, str] = {}
        for cause in self._causes():
            for name in cause.destinations:
                held[name] = "; ".join(filter(None, (held.get(name), cause.what)))
        body = debug.body(lines, form, held)
        return self._page("Live debugger", "/dashboard/debugger", body)

    # -- dead letters ------------------------------------------------------------------------

    async def dead(self, request: Request) -> Response:
        listed = self.ops.store.list_dead(limit=500)
        owns = ownership(self.ops.settings).owns
        dead = [job for job in listed if owns(job.destination, job.owner)]
        others = len(listed) - len(dead)
        rows = [
            f'<tr class="dead-letter" id="dead-{job.id}"><td>{job.id}</td>'
            f"<td>{esc(job.destination)}</td><td><code>{esc(job.message_id)}</code></td>"
            f"<td>{esc(job.conversion_id)}</td>{num(job.attempts)}"
            f"<td>{esc(job.last_error or '')}</td>"
            f'<td><form class="inline" method="post" action="/dashboard/dead/replay">'
            f'<input type="hidden" name="id" value="{job.id}"><button>Replay</button></form> '
            f'<form class="inline" method="post" action="/dashboard/dead/purge">'
            f'<input type="hidden" name="id" value="{job.id}"><button>Purge</button></form>'
            "</td></tr>"
            for job in dead
        ]
        heads = ["job", "destination", "messageId", "conversion_id", "attempts", "X's error", ""]
        notice = request.query_params.get("done", "")
        bulk = (
            '<form class="inline" method="post" action="/dashboard/dead/replay">'
            '<button name="all" value="1">Replay all</button></form> '
            '<form class="inline" method="post" action="/dashboard/dead/purge" '
            "onsubmit=\"return confirm('Delete every dead letter?')\">"
            '<button name="all" value="1">Purge all</button></form>'
        )
        body = (
            f"<section>{f'<p id=notice>{esc(notice)}</p>' if notice else ''}"
            "<p class=muted>Conversions X refused, or that ran out of retries. Replay sends them "
            f"again (fix the cause first); purge deletes them.</p>{bulk if dead else ''}"
            f"{table(heads, rows, empty='no dead letter')}"
            + (
                f'<p class="muted" id="foreign-dead">{others} more dead letter(s) in this store '
                "belong to destinations not in this config: not shown, and left alone by the "
                "buttons here</p>"
                if others
                else ""
            )
            + "</section>"
        )
        return self._page("Dead letters", "/dashboard/dead", body)

    async def _ids(self, request: Request) -> list[int] | None:
        """The dead letters a button acts on: the ones asked for, or all (None) when every dead
        letter in the store is this configuration's; else all of this configuration's listed."""
        form = await request.form()
        if form.get("all"):
            return await asyncio.to_thread(self._own_dead)
        return [int(str(v)) for v in form.getlist("id") if str(v).isdigit()]

    def _own_dead(self) -> list[int] | None:
        owns = ownership(self.ops.settings).owns
        others = self.ops.store.job_owners().items()
        if not any(states.get(JobStatus.DEAD) for (d, o), states in others if not owns(d, o)):
            return None  # every dead letter is ours: all of them, however many
        listed = self.ops.store.list_dead(limit=500)
        return [job.id for job in listed if owns(job.destination, job.owner)]

    async def replay(self, request: Request) -> Response:
        ids = await self._ids(request)
        now = self.ops.clock()
        n = await asyncio.to_thread(lambda: self.ops.store.replay_dead(ids=ids, now=now))
        return RedirectResponse(
            "/dashboard/dead?" + urlencode({"done": f"replayed {n} dead letter(s)"}), 303
        )

    async def purge(self, request: Request) -> Response:
        ids = await self._ids(request)
        n = await asyncio.to_thread(lambda: self.ops.store.purge_dead(ids=ids))
        return RedirectResponse(
            "/dashboard/dead?" + urlencode({"done": f"purged {n} dead letter(s)"}), 303
        )

    # -- connection and checks ---------------------------------------------------------------

    async def connection(self, request: Request) -> Response:
        ops = self.ops
        x = ops.settings.x
        target = "the built-in sandbox (in-process)" if x.api == "sandbox" else x.api
        rows = [f"<tr><td>X</td><td>{esc(target)}</td></tr>"]
        rows.append(f"<tr><td>token</td><td id=token>{esc(ops.token_status())}</td></tr>")
        alarm = ops.alarm()

        def words(fix: str) -> str:
            return in_config_words(fix, ops.settings)

        rows += [
            f'<tr id="{pause_anchor(p)}"><td>paused</td><td><b class="fail">✗</b> '
            f"{esc(shown_subject(p.subject))} since "
            f"{when(p.since)}: {esc(p.reason)}{esc('; fix: ' + words(p.fix) if p.fix else '')}"
            "</td></tr>"
            for p, _ in alarm.paused()
        ]
        rows.append(f"<tr><td>delivering</td><td id=delivering>{_delivering(alarm)}</td></tr>")
        connect = ops.connect_controls()
        notice = request.query_params.get("notice", "")
        if notice:
            connect = f"<p id=notice>{esc(notice)}</p>{connect}"
        last = alarm.checked_at()
        checked = when(last) if last is not None else "never"
        run_now = (
            '<form method="post" action="/dashboard/checks"><button>Run the checks now</button>'
            "</form>"
            if ops.monitor is not None
            else "<p class=muted>This process does not deliver: the table is what the delivering "
            "processes report.</p>"
            + (
                '<form method="post" action="/dashboard/checks"><button>Run the checks now'
                "</button> (in every delivery process on the store)</form>"
                if isinstance(ops.store, CheckRuns)
                else ""
            )
        )
        checks = alarm.checks()
        if ops.settings.x.api == "sandbox":  # as `xconduit check` says: nothing checked at X
            checks = seeded_from_config(checks)
        check_rows = [
            f'<tr class="check {c.status.value}" id="{check_anchor(c)}">'
            f'<td class="{c.status.value}">{c.mark}</td>'
            f"<td>{esc(shown_subject(c.subject))}</td><td>{esc(c.item)}</td><td>{esc(c.detail)}</td>"
            f"<td>{esc(words(c.fix))}</td></tr>"
            for c in checks
        ]
        body = (
            '<section id="connection"><h2>Connection</h2>'
            f"{table(['', ''], rows)}{connect}</section>"
            f'<section id="checks"><h2>Setup checks</h2><p class=muted>Last run: {checked} '
            f"(every {int(ops.settings.checks.interval)} s; `xconduit check` runs the same)</p>"
            f"{run_now}{table(CHECK_HEADS, check_rows, empty='not run yet')}"
            "</section>"
        )
        return self._page("Connection and checks", "/dashboard/connection", body)

    async def run_checks(self, request: Request) -> Response:
        ops = self.ops
        if ops.monitor is not None:  # and every delivery process on the store, at once
            await asyncio.to_thread(ops.monitor.run_for_everyone)
        elif isinstance(ops.store, CheckRuns):  # a collector: the delivery processes run them
            store = ops.store
            try:
                await asyncio.to_thread(lambda: store.note_check_run(now=ops.clock()))
            except XconduitError as exc:
                notice = f"the delivery processes could not be told: {exc}"
                return RedirectResponse(
                    "/dashboard/connection?" + urlencode({"notice": notice}), 303
                )
        return RedirectResponse("/dashboard/connection", 303)


def _delivering(alarm: Alarm) -> str:
    """Which processes deliver (and run the checks) on this store."""
    if not alarm.processes:
        return esc(NOBODY_DELIVERS)
    kinds = Counter(f"{p.kind} on {p.host}" for p in alarm.processes)
    return esc(", ".join(f"{k} ({n} processes)" if n > 1 else k for k, n in kinds.items()))
