"""Inspection and control under `/_sandbox/` (no OAuth): what was received, faults, reset."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from xconduit.sandbox.state import iso

if TYPE_CHECKING:
    from xconduit.sandbox.app import Sandbox


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def apply_fault_settings(sb: Sandbox, body: Any) -> None:
    """Body: `{"clear": bool, "schedule": {kind: [fault, ...]},
    "probability": [{"kind", "fault", "probability"}]}`."""
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    if body.get("clear"):
        sb.faults.clear()
    for kind, faults in (body.get("schedule") or {}).items():
        if not isinstance(faults, list):
            raise ValueError(f"schedule.{kind} must be a list")
        sb.faults.schedule(kind, faults)
    for rule in body.get("probability") or []:
        sb.faults.set_probability(
            str(rule.get("kind", "*")), rule["fault"], float(rule["probability"])
        )


def inspect_routes(sb: Sandbox) -> list[Route]:
    async def conversions(request: Request) -> Response:
        return JSONResponse({"data": sb.conversions()})

    async def audiences(request: Request) -> Response:
        return JSONResponse({"data": sb.audiences()})

    async def audience_users(request: Request) -> Response:
        audience_id = request.path_params["audience_id"]
        members = sb.audience_members(audience_id)
        if members is None:
            return _error(f"unknown audience {audience_id}", 404)
        return JSONResponse({"data": members})

    async def requests(request: Request) -> Response:
        return JSONResponse({"data": sb.requests()})

    async def reset(request: Request) -> Response:
        sb.reset()
        return JSONResponse({"data": {"reset": True}})

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            try:
                apply_fault_settings(sb, json.loads(await request.body() or b"{}"))
            except (ValueError, KeyError, TypeError) as exc:
                return _error(str(exc))
        return JSONResponse({"data": sb.faults.describe()})

    async def permissions(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
            perms = body.get("permissions")
            sb.set_permissions(
                str(body["user_id"]),
                str(body["account_id"]),
                None if perms is None else tuple(str(p) for p in perms),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return _error(str(exc))
        return JSONResponse({"data": {"user_id": body["user_id"], "permissions": perms}})

    async def page(request: Request) -> Response:
        return HTMLResponse(render_page(sb))

    return [
        Route("/_sandbox/", page, methods=["GET"]),
        Route("/_sandbox/conversions", conversions, methods=["GET"]),
        Route("/_sandbox/audiences", audiences, methods=["GET"]),
        Route("/_sandbox/audiences/{audience_id}/users", audience_users, methods=["GET"]),
        Route("/_sandbox/requests", requests, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST"]),
        Route("/_sandbox/permissions", permissions, methods=["POST"]),
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


def render_page(sb: Sandbox) -> str:
    state = sb.state
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
        for a in sb.audiences()
    ]
    conversions = [
        (
            c["received_at"],
            c["pixel_id"],
            c.get("event_id"),
            c.get("conversion_id"),
            c.get("identifiers"),
        )
        for c in reversed(sb.conversions()[-200:])
    ]
    requests = [
        (datetime.fromtimestamp(r["time"], UTC).isoformat(), r["method"], r["path"], r["status"])
        for r in reversed(sb.requests()[-200:])
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
        f"<h2>Faults</h2><pre>{html.escape(json.dumps(sb.faults.describe(), indent=2))}</pre>",
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
