"""Custom audience routes: create, list, get, update, delete, and add/remove users."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from xconduit.sandbox.audiences import check_size, validate_operations
from xconduit.sandbox.context import SandboxContext
from xconduit.sandbox.envelope import (
    TOO_MANY_REQUESTS,
    VERSIONS,
    ApiError,
    data_response,
    error_response,
    no_access,
    read_json,
    typed_params,
)
from xconduit.sandbox.faults import Fault
from xconduit.sandbox.guard import Caller, guarded
from xconduit.sandbox.state import Audience

MAX_COUNT = 1000
DEFAULT_COUNT = 200


def _bad(message: str, parameter: str, code: str = "INVALID_PARAMETER") -> ApiError:
    return ApiError(status=400, code=code, message=message, parameter=parameter)


def _flag(value: str | None) -> bool:
    return (value or "").lower() in {"true", "1"}


async def _params(request: Request) -> dict[str, str]:
    """Query parameters plus form-encoded body parameters (both are signed)."""
    params = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def _not_found(audience_id: str) -> ApiError:
    return ApiError(
        status=404,
        code="NOT_FOUND",
        message=f"Custom audience {audience_id} was not found",
        parameter="custom_audience_id",
    )


def _write_denied(user_id: str, account_id: str) -> ApiError:
    return ApiError(
        status=403,
        code="ACTION_NOT_ALLOWED",
        message=f"User {user_id} may not change custom audiences of account {account_id}",
    )


def check_access(
    ctx: SandboxContext, caller: Caller, account_id: str, *, write: bool
) -> ApiError | None:
    if ctx.state.access(caller.user_id, account_id) is None:
        return no_access(caller.user_id, account_id)
    if write and not ctx.state.can_write(caller.user_id, account_id):
        return _write_denied(caller.user_id, account_id)
    return None


def find(
    ctx: SandboxContext, account_id: str, audience_id: str, *, with_deleted: bool
) -> Audience | None:
    audience = ctx.state.audiences.get(audience_id)
    if audience is None or audience.account_id != account_id:
        return None
    if audience.deleted and not with_deleted:
        return None
    return audience


async def create(ctx: SandboxContext, request: Request, caller: Caller, fault: Fault) -> Response:
    """A new audience; its name must be unique in the account."""
    account_id = request.path_params["account_id"]
    given = await _params(request)
    params: dict[str, Any] = {"account_id": account_id, **typed_params(given)}
    denied = check_access(ctx, caller, account_id, write=True)
    if denied:
        return error_response([denied], params)
    name = given.get("name", "").strip()
    if not name:
        return error_response([_bad('"name" is missing', "name", "MISSING_PARAMETER")], params)
    # Without a description X answers `"description": null`, as in its examples.
    audience = ctx.state.create_audience(account_id, name, given.get("description"))
    if audience is None:
        taken = _bad(f"A custom audience named {name} already exists in this account", "name")
        return error_response([taken], params)
    return data_response(audience.as_json(), params)


def _page_window(q: Mapping[str, str]) -> tuple[int, int, list[ApiError]]:
    """`count` and the cursor's offset, with X's errors for values it refuses."""
    errors = []
    count = DEFAULT_COUNT
    try:
        count = int(q.get("count", DEFAULT_COUNT))
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_COUNT:
        errors.append(_bad(f"count must be between 1 and {MAX_COUNT}", "count"))
    offset = 0
    if "cursor" in q:
        try:
            offset = int(q["cursor"], 36)
        except ValueError:
            errors.append(_bad(f"cursor ({q['cursor']}) is not valid", "cursor"))
        if _flag(q.get("with_total_count")):
            message = "with_total_count and cursor are exclusive"
            errors.append(_bad(message, "with_total_count", "EXCLUSIVE_PARAMETERS"))
    return count, offset, errors


async def listing(ctx: SandboxContext, request: Request, caller: Caller, fault: Fault) -> Response:
    """One page of the account's audiences, filtered by name prefix and ids."""
    account_id = request.path_params["account_id"]
    q = request.query_params
    params: dict[str, Any] = {"account_id": account_id, **typed_params(q)}
    denied = check_access(ctx, caller, account_id, write=False)
    if denied:
        return error_response([denied], params)
    count, offset, errors = _page_window(q)
    if errors:
        return error_response(errors, params)
    ids = {i for i in q.get("custom_audience_ids", "").split(",") if i}
    prefix = q.get("q", "").lower()
    items = [
        a
        for a in ctx.state.account_audiences(account_id)
        if (_flag(q.get("with_deleted")) or not a.deleted)
        and a.name.lower().startswith(prefix)
        and (not ids or a.id in ids)
    ]
    page = items[offset : offset + count]
    more = offset + count < len(items)
    extra: dict[str, Any] = {"next_cursor": _base36(offset + count) if more else None}
    if _flag(q.get("with_total_count")):
        extra["total_count"] = len(items)
    return data_response([a.as_json() for a in page], params, extra=extra)


def _update(ctx: SandboxContext, audience: Audience, changes: dict[str, str]) -> ApiError | None:
    """Apply a PUT's name and description, or X's error when the name is taken."""
    with ctx.state.lock:
        new_name = changes.get("name", audience.name)
        if any(
            a.name == new_name and a.id != audience.id
            for a in ctx.state.account_audiences(audience.account_id)
        ):
            return _bad(f"A custom audience named {new_name} already exists", "name")
        audience.name = new_name
        audience.description = changes.get("description", audience.description)
        audience.updated_at = ctx.clock()
    return None


async def one(ctx: SandboxContext, request: Request, caller: Caller, fault: Fault) -> Response:
    """GET, PUT (name, description) or DELETE one audience of the account."""
    account_id = request.path_params["account_id"]
    audience_id = request.path_params["audience_id"]
    params: dict[str, Any] = {
        "account_id": account_id,
        "custom_audience_id": audience_id,
        **typed_params(request.query_params),
    }
    write = request.method != "GET"
    denied = check_access(ctx, caller, account_id, write=write)
    if denied:
        return error_response([denied], params)
    with_deleted = request.method == "GET" and _flag(request.query_params.get("with_deleted"))
    audience = find(ctx, account_id, audience_id, with_deleted=with_deleted)
    if audience is None:
        return error_response([_not_found(audience_id)], params)
    if request.method == "DELETE":
        with ctx.state.lock:
            audience.deleted = True
            audience.updated_at = ctx.clock()
    elif request.method == "PUT":
        changes = await _params(request)
        params.update(typed_params(changes))
        taken = _update(ctx, audience, changes)
        if taken is not None:
            return error_response([taken], params)
    return data_response(audience.as_json(), params)


async def users(ctx: SandboxContext, request: Request, caller: Caller, fault: Fault) -> Response:
    """Add or remove hashed users; `fault.mismatch` under-reports `success_count`."""
    account_id = request.path_params["account_id"]
    audience_id = request.path_params["audience_id"]
    params: dict[str, Any] = {"account_id": account_id, "custom_audience_id": audience_id}
    denied = check_access(ctx, caller, account_id, write=True)
    if denied:
        return error_response([denied], params)
    audience = find(ctx, account_id, audience_id, with_deleted=False)
    if audience is None:
        return error_response([_not_found(audience_id)], params)
    if not request.headers.get("content-type", "").startswith("application/json"):
        wrong = _bad("Content-Type must be application/json", "Content-Type")
        return error_response([wrong], params)
    body_bytes = len(await request.body())
    too_big = check_size(body_bytes)
    if too_big:
        return error_response([too_big], params)
    quota = ctx.limiter.audience_quota(account_id)
    if quota is not None and not quota.allowed:
        return error_response([TOO_MANY_REQUESTS], params, headers=quota.headers())
    headers = ctx.limiter.spend_audience_request(account_id)
    body, bad_json = await read_json(request)
    if bad_json is not None:
        return error_response([bad_json], params, headers=headers)
    request_errors, op_errors, operations = validate_operations(body)
    if request_errors:
        return error_response(request_errors, params, headers=headers)
    if op_errors:
        summary = _bad("One or more operations are invalid; see operation_errors", "body")
        extra = {"operation_errors": [e.as_json() for e in op_errors]}
        return error_response([summary], params, headers=headers, extra=extra)
    total = ctx.state.apply_operations(audience, operations, body_bytes=body_bytes)
    data = {"success_count": max(total - fault.mismatch, 0), "total_count": total}
    return data_response(data, params, headers=headers)


def audience_routes(ctx: SandboxContext) -> list[Route]:
    routes = []
    for v in VERSIONS:
        base = f"/{v}/accounts/{{account_id}}/custom_audiences"
        routes += [
            Route(base, guarded(ctx, "audiences", create), methods=["POST"]),
            Route(base, guarded(ctx, "audiences", listing), methods=["GET"]),
            Route(
                f"{base}/{{audience_id}}",
                guarded(ctx, "audiences", one),
                methods=["GET", "PUT", "DELETE"],
            ),
            Route(
                f"{base}/{{audience_id}}/users",
                guarded(ctx, "audience_users", users),
                methods=["POST"],
            ),
        ]
    return routes


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out
