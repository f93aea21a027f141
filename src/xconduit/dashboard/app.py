"""The dashboard, `/metrics` and `/readyz` as one Starlette app (see the package docstring)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from prometheus_client.core import Metric
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from xconduit.accounts.fleet import NOBODY_DELIVERS, Alarm, Fleet
from xconduit.accounts.monitor import SetupMonitor
from xconduit.accounts.tokens import TokenVault
from xconduit.audiences.listing import audience_lines
from xconduit.config import Settings
from xconduit.config.identity import owner_keys, ownership
from xconduit.dashboard.audiences_page import AudiencesPage
from xconduit.dashboard.auth import Access
from xconduit.dashboard.connect import Connect
from xconduit.dashboard.context import DashboardContext
from xconduit.dashboard.html import esc
from xconduit.dashboard.pages import Pages
from xconduit.dashboard.syncs import SyncsSection
from xconduit.dashboard.syncs_page import SyncsPage
from xconduit.dashboard.views import own_counts, rate_budgets
from xconduit.delivery.pause import AccountPauses
from xconduit.observability.metrics import CONTENT_TYPE, exposition, gauge
from xconduit.outbox.owners import foreign_active, foreign_line
from xconduit.xads import XAdsClient

OPS_PATHS = ("/", "/dashboard", "/metrics", "/readyz", "/connect")
"""Paths (and their sub-paths) the gateway hands to this app instead of the collector."""

FIRST_CHECK = "the first check of the X credentials and accounts has not finished"

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(kw_only=True)
class OpsApp:
    """What the pages read: the store, the settings, the checks and the paused accounts."""

    settings: Settings
    store: Any
    pauses: AccountPauses
    monitor: SetupMonitor | None = None
    ready: Callable[[], bool] = lambda: True
    listen_host: str = ""
    clock: Callable[[], float] = time.time
    extra_routes: list[Route] = field(default_factory=list)
    vault: TokenVault | None = None
    """The connected account's stored token (accounts/tokens.py)."""
    x: XAdsClient | None = None
    """The X client, for the three-legged connection."""
    reports: Path | None = None
    """The sync reports folder (`sync_reports`), for the rejected-rows report links."""
    delivers: bool = True
    """False for `serve --no-delivery`: the alarm is only what the delivering processes report."""
    heartbeat_id: str | None = None
    """This process's heartbeat row in the store (its own alarm is read from `monitor`)."""

    def __post_init__(self) -> None:
        self.fleet = Fleet(
            store=self.store,
            pauses=self.pauses,
            monitor=self.monitor,
            delivers=self.delivers,
            heartbeat_id=self.heartbeat_id,
            clock=self.clock,
            owners=frozenset(owner_keys(self.settings).values()),
        )
        if not self.listen_host:
            self.listen_host = self.settings.server.listen.rpartition(":")[0]
        token = self.settings.dashboard.admin_token
        self.access = Access(
            token=token.get_secret_value() if token else None,
            allowed_hosts=self.settings.dashboard.allowed_hosts,
        )
        routes = [
            Route("/readyz", self.readyz, methods=["GET", "HEAD"]),
            Route("/metrics", self.guard(self.metrics), methods=["GET"]),
            *self.extra_routes,
        ]
        # Answers outside the pages are JSON, as everywhere else on the gateway.
        handlers: dict[Any, Any] = {404: _not_found, 405: _not_allowed}
        self.app = Starlette(routes=routes, exception_handlers=handlers)
        context = DashboardContext(
            settings=self.settings,
            store=self.store,
            clock=self.clock,
            monitor=self.monitor,
            vault=self.vault,
            x=self.x,
            reports=self.reports,
            alarm=self.alarm,
            foreign_jobs=self.foreign_jobs,
            token_status=self.token_status,
            connect_controls=self.connect_controls,
        )
        self.connect = Connect(context)
        self.add_routes(
            [
                *Pages(context).routes(),
                *self.connect.routes(),
                *SyncsSection(context).routes(),
                *SyncsPage(context).routes(),
                *AudiencesPage(context).routes(),
            ]
        )

    def add_routes(self, routes: Iterable[Route]) -> None:
        """Pages (behind the admin rule) added by the dashboard's modules."""
        for route in routes:
            self.app.router.routes.append(
                Route(route.path, self.guard(route.endpoint), methods=route.methods)
            )

    def guard(self, handler: Callable[[Request], Awaitable[Response]]) -> Handler:
        async def guarded(request: Request) -> Response:
            why = self.access.refusal(request, listen_host=self.listen_host)
            if why is None:
                return await handler(request)
            headers = {}
            if why.status == 401 and self.access.token:
                headers["WWW-Authenticate"] = 'Basic realm="xconduit"'
            if why.retry_after is not None:
                headers["Retry-After"] = str(why.retry_after)
            return HTMLResponse(f"<p>{why.status}: {esc(why.reason)}</p>", why.status, headers)

        return guarded

    def token_status(self) -> str:
        """Where delivery's X token comes from (connect.py replaces this when connecting)."""
        x = self.settings.x
        if x.api == "sandbox":
            return "the sandbox's built-in user (no token needed)"
        if x.access_token is not None:
            return "from the configuration (x.access_token)"
        stored = self.vault.load() if self.vault is not None else None
        if stored is not None:
            return f"connected as @{stored.screen_name} (user {stored.user_id}), stored encrypted"
        return "none: connect an X account"

    def connect_controls(self) -> str:
        return self.connect.controls()

    def alarm(self) -> Alarm:
        """This process's and the live delivery processes' checks and pauses (accounts/fleet.py)."""
        return self.fleet.alarm()

    def problems(self) -> list[str]:
        return self.alarm().problems()

    def foreign_jobs(self) -> int:
        """Waiting jobs of destinations not in this configuration (other configurations sharing
        the store): counted, never shown as this configuration's, never sent from here."""
        if not hasattr(self.store, "active_job_owners"):
            return 0
        return foreign_active(self.store.active_job_owners(), ownership(self.settings).owns)

    async def readyz(self, request: Request) -> Response:
        if not self.ready():
            return _json({"status": "starting"}, 503)
        if self.monitor is not None and self.monitor.checked_at is None:
            # Until then no failing credentials or role could be named: "ready" would be a guess.
            return _json({"status": "starting", "reason": FIRST_CHECK}, 503)
        alarm = self.alarm()
        problems = alarm.problems()
        # Other configurations' jobs do not make this process unready; they are only said.
        foreign = self.foreign_jobs()
        extra = {"foreign_jobs": foreign, "foreign_note": foreign_line(foreign)} if foreign else {}
        if problems:
            reported = [
                {"problem": problem, "kind": p.kind, "host": p.host, "pid": p.pid}
                for problem, p in alarm.reported()
            ]
            body = {"status": "failing", "problems": problems, "reported_by": reported, **extra}
            return _json(body, 503)
        if not alarm.delivering:
            # Still ready: a collector keeps the events in the outbox for when delivery is back.
            body = {"status": "ready", "delivering": 0, "note": NOBODY_DELIVERS, **extra}
            return _json(body)
        return _json({"status": "ready", **extra})

    async def metrics(self, request: Request) -> Response:

        def counts() -> dict[str, dict[Any, int]]:
            return dict(own_counts(self.settings, self.store).own)

        return Response(exposition(self.store, self.gauges, counts), media_type=CONTENT_TYPE)

    def gauges(self) -> Iterable[Metric]:
        alarm = self.alarm()
        pauses = [p for p, _ in alarm.paused()]
        yield gauge(
            "account_paused",
            "1 while a live delivery process holds the account's delivery",
            ["account"],
            [([p.account_id], 1.0) for p in pauses if p.destination is None],
        )
        yield gauge(
            "destination_paused",
            "1 while a live delivery process holds the destination (X refused its pixel or an "
            "event id)",
            ["destination"],
            [([p.destination], 1.0) for p in pauses if p.destination is not None],
        )
        yield gauge(
            "delivering_processes",
            "Live delivery processes (serve with delivery, worker) on this store",
            [],
            [([], float(alarm.delivering))],
        )
        yield gauge(
            "foreign_jobs",
            "Waiting jobs of destinations not in this configuration (never sent from here)",
            [],
            [([], float(self.foreign_jobs()))],
        )
        checks = alarm.checks()
        yield gauge(
            "check_ok",
            "1 if the setup check passes, 0 if it fails in a live delivery process",
            ["subject", "check"],
            [([c.subject, c.item], 1.0 if c.ok else 0.0) for c in checks if c.mark != "–"],
        )

        budgets = rate_budgets(self.settings, self.store, now=self.clock())
        yield gauge(
            "rate_budget_used",
            "Conversions sent to the account in the current rate-limit window",
            ["account"],
            [([b.account_id], float(b.used)) for b in budgets],
        )
        yield gauge(
            "rate_budget_allowed",
            "Conversions allowed per account per window (delivery.events_per_window)",
            ["account"],
            [([b.account_id], float(b.allowed)) for b in budgets],
        )
        store = self.store if hasattr(self.store, "audience_records") else None
        audiences = audience_lines(self.settings, store) if self.settings.audiences else []
        yield gauge(
            "audience_members",
            "Users X accepted into the audience and not since removed",
            ["audience"],
            [([a.name], float(a.members)) for a in audiences],
        )
        yield gauge(
            "audience_pending",
            "Audience changes waiting to be flushed to X",
            ["audience"],
            [([a.name], float(a.pending)) for a in audiences],
        )


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


async def _not_found(request: Request, exc: Exception) -> Response:
    body = {"success": False, "error": f"no such endpoint: {request.method} {request.url.path}"}
    return _json(body, 404)


async def _not_allowed(request: Request, exc: Exception) -> Response:
    body = {"success": False, "error": f"{request.method} is not allowed on {request.url.path}"}
    return _json(body, 405)
