"""Inspection and control under `/_sandbox/` (no OAuth): what was received, faults, reset."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from xconduit.sandbox.context import SandboxContext
from xconduit.sandbox.state import iso


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def apply_fault_settings(ctx: SandboxContext, body: Any) -> None:
    """Body: `{"clear": bool, "schedule": {kind: [fault, ...]},
    "probability": [{"kind", "fault", "probability"}]}`."""
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    if body.get("clear"):
        ctx.faults.clear()
    for kind, faults in (body.get("schedule") or {}).items():
        if not isinstance(faults, list):
            raise ValueError(f"schedule.{kind} must be a list")
        ctx.faults.schedule(kind, faults)
    for rule in body.get("probability") or []:
        ctx.faults.set_probability(
            str(rule.get("kind", "*")), rule["fault"], float(rule["probability"])
        )


async def conversions(ctx: SandboxContext, request: Request) -> Response:
    return JSONResponse({"data": ctx.state.conversion_records()})


async def audiences(ctx: SandboxContext, request: Request) -> Response:
    return JSONResponse({"data": ctx.state.audience_summaries()})


async def audience_users(ctx: SandboxContext, request: Request) -> Response:
    audience_id = request.path_params["audience_id"]
    members = ctx.state.audience_members(audience_id)
    if members is None:
        return _error(f"unknown audience {audience_id}", 404)
    return JSONResponse({"data": members})


async def requests(ctx: SandboxContext, request: Request) -> Response:
    return JSONResponse({"data": ctx.state.request_records()})


async def reset(ctx: SandboxContext, request: Request) -> Response:
    ctx.reset()
    return JSONResponse({"data": {"reset": True}})


async def faults(ctx: SandboxContext, request: Request) -> Response:
    """GET: the faults in force; POST: change them first (see `apply_fault_settings`)."""
    if request.method == "POST":
        try:
            apply_fault_settings(ctx, json.loads(await request.body() or b"{}"))
        except (ValueError, KeyError, TypeError) as exc:
            return _error(str(exc))
    return JSONResponse({"data": ctx.faults.describe()})


async def permissions(ctx: SandboxContext, request: Request) -> Response:
    """Set (or with `"permissions": null` remove) a user's access to an account."""
    try:
        body = json.loads(await request.body() or b"{}")
        perms = body.get("permissions")
        ctx.state.set_permissions(
            str(body["user_id"]),
            str(body["account_id"]),
            None if perms is None else tuple(str(p) for p in perms),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return _error(str(exc))
    return JSONResponse({"data": {"user_id": body["user_id"], "permissions": perms}})


async def page(ctx: SandboxContext, request: Request) -> Response:
    """The HTML overview at `/_sandbox/`."""
    return HTMLResponse(render_page(ctx))


def inspect_routes(ctx: SandboxContext) -> list[Route]:
    return [
        Route("/_sandbox/", partial(page, ctx), methods=["GET"]),
        Route("/_sandbox/conversions", partial(conversions, ctx), methods=["GET"]),
        Route("/_sandbox/audiences", partial(audiences, ctx), methods=["GET"]),
        Route(
            "/_sandbox/audiences/{audience_id}/users", partial(audience_users, ctx), methods=["GET"]
        ),
        Route("/_sandbox/requests", partial(requests, ctx), methods=["GET"]),
        Route("/_sandbox/reset", partial(reset, ctx), methods=["POST"]),
        Route("/_sandbox/faults", partial(faults, ctx), methods=["GET", "POST"]),
        Route("/_sandbox/permissions", partial(permissions, ctx), methods=["POST"]),
    ]


def _table(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<h2>{html.escape(title)}</h2><table><tr>{head}</tr>{body}</table>"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def render_page(ctx: SandboxContext) -> str:
    state = ctx.state
    accounts = [(a.id, a.name, ", ".join(p.id for p in a.pixels)) for a in state.accounts.values()]
    events = [(e, p, a, ev.name, ev.type) for e, (a, p, ev) in state.events.items()]
    users = [
        (
            u.id,
            u.screen_name,
            "; ".join(
                f"{acct}: {','.join(perms)}"
                for (uid, acct), perms in state.permissions.items()
                if uid == u.id
            ),
        )
        for u in state.users.values()
    ]
    audiences = [
        (a["id"], a["owner_account_id"], a["name"], a["member_count"], a["deleted"])
        for a in ctx.state.audience_summaries()
    ]
    conversions = [
        (
            c["received_at"],
            c["pixel_id"],
            c.get("event_id"),
            c.get("conversion_id"),
            c.get("identifiers"),
        )
        for c in reversed(ctx.state.conversion_records()[-200:])
    ]
    requests = [
        (datetime.fromtimestamp(r["time"], UTC).isoformat(), r["method"], r["path"], r["status"])
        for r in reversed(ctx.state.request_records()[-200:])
    ]
    parts = [
        _table("Accounts", ["id", "name", "pixels"], accounts),
        _table("Events (single-event tags)", ["id", "pixel", "account", "name", "type"], events),
        _table("Users", ["id", "screen name", "permissions"], users),
        _table("Custom audiences", ["id", "account", "name", "members", "deleted"], audiences),
        _table(
            "Conversions (newest first, last 200)",
            ["received", "pixel", "event", "conversion_id", "identifiers"],
            conversions,
        ),
        _table("Requests (newest first, last 200)", ["time", "method", "path", "status"], requests),
        f"<h2>Faults</h2><pre>{html.escape(json.dumps(ctx.faults.describe(), indent=2))}</pre>",
    ]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>X sandbox</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px;text-align:left}</style>"
        f"</head><body><h1>X sandbox</h1><p>Started {iso(state.started_at)}. "
        "JSON: <a href='conversions'>conversions</a>, <a href='audiences'>audiences</a>, "
        "<a href='requests'>requests</a>, <a href='faults'>faults</a>.</p>"
        + "".join(parts)
        + "</body></html>"
    )
