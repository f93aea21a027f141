"""Conversion API, accounts, `authenticated_user_access` and `web_event_tags` routes."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from xconduit.sandbox.conversions import validate_conversions
from xconduit.sandbox.envelope import (
    TOO_MANY_REQUESTS,
    ApiError,
    data_response,
    error_response,
)
from xconduit.sandbox.faults import Fault
from xconduit.sandbox.guard import Caller, guarded
from xconduit.sandbox.state import iso

if TYPE_CHECKING:
    from xconduit.sandbox.app import Sandbox

VERSIONS = ("11", "12")


def no_access(user_id: str, account_id: str) -> ApiError:
    return ApiError(
        status=404,
        code="NOT_FOUND",
        message=f"User {user_id} does not have access to account {account_id}",
    )


async def read_json(request: Request) -> tuple[Any, ApiError | None]:
    raw = await request.body()
    try:
        return json.loads(raw or b"null"), None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, ApiError(
            status=400,
            code="INVALID_PARAMETER",
            message="The body is not valid JSON",
            parameter="body",
        )


def account_json(sb: Sandbox, account_id: str) -> dict[str, Any]:
    account = sb.state.accounts[account_id]
    started = iso(sb.state.started_at)
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


def api_routes(sb: Sandbox) -> list[Route]:
    async def conversions(request: Request, caller: Caller, fault: Fault) -> Response:
        pixel_id = request.path_params["pixel_id"]
        ctx = sb.state.pixel_context(pixel_id)
        if ctx is None:
            message = f"pixel_id ({pixel_id}) was not found"
            return error_response([ApiError(status=404, code="NOT_FOUND", message=message)])
        params = {"account_id": ctx.account_id}
        if not sb.state.can_write(caller.user_id, ctx.account_id):
            return error_response([no_access(caller.user_id, ctx.account_id)], params)
        body, bad_json = await read_json(request)
        if bad_json is not None:
            return error_response([bad_json], params)
        raw = body.get("conversions") if isinstance(body, dict) else None
        count = len(raw) if isinstance(raw, list) else 0
        quotas = sb.conversion_quotas(ctx.account_id, count)
        refused = next((q for q in quotas if not q.allowed), None)
        if refused is not None:
            return error_response([TOO_MANY_REQUESTS], params, headers=refused.headers())
        headers = sb.spend_conversion_requests(ctx.account_id)
        errors = validate_conversions(body, ctx)
        if errors:
            return error_response(errors, params, headers=headers)
        assert isinstance(raw, list)
        headers = sb.spend_conversion_events(ctx.account_id, count) or headers
        sb.state.record_conversions(ctx, raw)
        data = {"conversions_processed": count, "debug_id": str(uuid.uuid4())}
        return data_response(data, params, headers=headers)

    async def accounts(request: Request, caller: Caller, fault: Fault) -> Response:
        ids = [a for a in sb.state.accounts if sb.state.access(caller.user_id, a) is not None]
        data = [account_json(sb, a) for a in ids]
        return data_response(data, {}, extra={"next_cursor": None})

    async def account(request: Request, caller: Caller, fault: Fault) -> Response:
        account_id = request.path_params["account_id"]
        params = {"account_id": account_id}
        if sb.state.access(caller.user_id, account_id) is None:
            return error_response([no_access(caller.user_id, account_id)], params)
        return data_response(account_json(sb, account_id), params)

    async def user_access(request: Request, caller: Caller, fault: Fault) -> Response:
        account_id = request.path_params["account_id"]
        params = {"account_id": account_id}
        permissions = sb.state.access(caller.user_id, account_id)
        if permissions is None:
            return error_response([no_access(caller.user_id, account_id)], params)
        data = {"user_id": caller.user_id, "permissions": list(permissions)}
        return data_response(data, params)

    async def event_tags(request: Request, caller: Caller, fault: Fault) -> Response:
        account_id = request.path_params["account_id"]
        tag_id = request.path_params.get("tag_id")
        params: dict[str, Any] = {"account_id": account_id}
        if sb.state.access(caller.user_id, account_id) is None:
            return error_response([no_access(caller.user_id, account_id)], params)
        tags = [t for t in web_event_tags(sb, account_id) if tag_id in (None, t["id"])]
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

    routes = []
    for v in VERSIONS:
        routes += [
            Route(
                f"/{v}/measurement/conversions/{{pixel_id}}",
                guarded(sb, "conversions", conversions),
                methods=["POST"],
            ),
            Route(f"/{v}/accounts", guarded(sb, "accounts", accounts), methods=["GET"]),
            Route(
                f"/{v}/accounts/{{account_id}}", guarded(sb, "accounts", account), methods=["GET"]
            ),
            Route(
                f"/{v}/accounts/{{account_id}}/authenticated_user_access",
                guarded(sb, "accounts", user_access),
                methods=["GET"],
            ),
            Route(
                f"/{v}/accounts/{{account_id}}/web_event_tags",
                guarded(sb, "accounts", event_tags),
                methods=["GET"],
            ),
            Route(
                f"/{v}/accounts/{{account_id}}/web_event_tags/{{tag_id}}",
                guarded(sb, "accounts", event_tags),
                methods=["GET"],
            ),
        ]
    return routes


def web_event_tags(sb: Sandbox, account_id: str) -> list[dict[str, Any]]:
    """X's web_event_tag objects (docs/reference/sandbox.md) for the account's events."""
    started = iso(sb.state.started_at)
    last_seen: dict[str, str] = {}
    for conversion in sb.conversions():
        bare = str(conversion.get("event_id", "")).rsplit("-", 1)[-1]
        last_seen[bare] = conversion["received_at"]
    out = []
    for event_id, (owner, pixel_id, seeded) in sb.state.events.items():
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
