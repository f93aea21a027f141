"""Account routes: accounts, `authenticated_user_access` and `web_event_tags`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from xconduit.sandbox.context import SandboxContext
from xconduit.sandbox.envelope import (
    VERSIONS,
    ApiError,
    data_response,
    error_response,
    no_access,
    typed_params,
)
from xconduit.sandbox.faults import Fault
from xconduit.sandbox.guard import Caller, guarded
from xconduit.sandbox.state import iso


def account_json(ctx: SandboxContext, account_id: str) -> dict[str, Any]:
    account = ctx.state.accounts[account_id]
    started = iso(ctx.state.started_at)
    return {
        "id": account.id,
        "name": account.name,
        "business_name": None,
        "business_id": None,
        "timezone": "Etc/GMT",
        "timezone_switch_at": started,
        "industry_type": None,
        "approval_status": "ACCEPTED",
        "created_at": started,
        "updated_at": started,
        "deleted": False,
    }


async def accounts(ctx: SandboxContext, request: Request, caller: Caller, fault: Fault) -> Response:
    """The accounts the caller has any access to (those of `account_ids` when given)."""
    params = typed_params(request.query_params)
    wanted = params.get("account_ids")
    ids = [
        a
        for a in ctx.state.accounts
        if ctx.state.access(caller.user_id, a) is not None
        and (not isinstance(wanted, list) or a in wanted)
    ]
    data = [account_json(ctx, a) for a in ids]
    return data_response(data, params, extra={"next_cursor": None})


async def account(ctx: SandboxContext, request: Request, caller: Caller, fault: Fault) -> Response:
    account_id = request.path_params["account_id"]
    params = {"account_id": account_id, **typed_params(request.query_params)}
    if ctx.state.access(caller.user_id, account_id) is None:
        return error_response([no_access(caller.user_id, account_id)], params)
    return data_response(account_json(ctx, account_id), params)


async def user_access(
    ctx: SandboxContext, request: Request, caller: Caller, fault: Fault
) -> Response:
    """The caller's permissions on the account."""
    account_id = request.path_params["account_id"]
    params = {"account_id": account_id, **typed_params(request.query_params)}
    permissions = ctx.state.access(caller.user_id, account_id)
    if permissions is None:
        return error_response([no_access(caller.user_id, account_id)], params)
    data = {"user_id": caller.user_id, "permissions": list(permissions)}
    return data_response(data, params)


async def event_tags(
    ctx: SandboxContext, request: Request, caller: Caller, fault: Fault
) -> Response:
    """The account's web event tags, or the one named by `tag_id`."""
    account_id = request.path_params["account_id"]
    tag_id = request.path_params.get("tag_id")
    params: dict[str, Any] = {"account_id": account_id, **typed_params(request.query_params)}
    if ctx.state.access(caller.user_id, account_id) is None:
        return error_response([no_access(caller.user_id, account_id)], params)
    tags = [t for t in web_event_tags(ctx, account_id) if tag_id in (None, t["id"])]
    if tag_id is None:
        return data_response(tags, params, extra={"next_cursor": None})
    params["web_event_tag_id"] = tag_id
    if not tags:
        missing = ApiError(
            status=404,
            code="WEB_EVENT_TAG_NOT_FOUND",
            message=f"Web event tag {tag_id} not found",
        )
        return error_response([missing], params)
    return data_response(tags[0], params)


def account_routes(ctx: SandboxContext) -> list[Route]:
    routes = []
    for v in VERSIONS:
        base = f"/{v}/accounts"
        routes += [
            Route(base, guarded(ctx, "accounts", accounts), methods=["GET"]),
            Route(f"{base}/{{account_id}}", guarded(ctx, "accounts", account), methods=["GET"]),
            Route(
                f"{base}/{{account_id}}/authenticated_user_access",
                guarded(ctx, "accounts", user_access),
                methods=["GET"],
            ),
            Route(
                f"{base}/{{account_id}}/web_event_tags",
                guarded(ctx, "accounts", event_tags),
                methods=["GET"],
            ),
            Route(
                f"{base}/{{account_id}}/web_event_tags/{{tag_id}}",
                guarded(ctx, "accounts", event_tags),
                methods=["GET"],
            ),
        ]
    return routes


def web_event_tags(ctx: SandboxContext, account_id: str) -> list[dict[str, Any]]:
    """X's web_event_tag objects (docs/reference/sandbox.md) for the account's events."""
    started = iso(ctx.state.started_at)
    last_seen: dict[str, str] = {}
    for conversion in ctx.state.conversion_records():
        bare = str(conversion.get("event_id", "")).rsplit("-", 1)[-1]
        last_seen[bare] = conversion["received_at"]
    out = []
    for event_id, (owner, pixel_id, seeded) in ctx.state.events.items():
        if owner != account_id:
            continue
        out.append(
            {
                "id": event_id,
                "name": seeded.name,
                "type": seeded.type,
                "status": "TRACKING" if event_id in last_seen else seeded.status,
                "website_tag_id": pixel_id,
                "last_tracked_at": last_seen.get(event_id),
                "click_window": seeded.click_window,
                "view_through_window": seeded.view_through_window,
                "retargeting_enabled": True,
                "embed_code": _embed_code(event_id),
                "created_at": started,
                "updated_at": started,
                "deleted": False,
            }
        )
    return out


def _embed_code(event_id: str) -> str:
    # The legacy single-event snippet X's own web_event_tags example shows.
    return (
        '<script src="//platform.twitter.com/oct.js" type="text/javascript"></script>'
        '<script type="text/javascript">'
        f"twttr.conversion.trackPid('{event_id}', {{ tw_sale_amount: 0, tw_order_quantity: 0 }});"
        "</script>"
    )
