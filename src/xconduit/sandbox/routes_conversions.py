"""The Conversion API route: `POST /:version/measurement/conversions/:pixel_id`."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from xconduit.sandbox.context import SandboxContext
from xconduit.sandbox.conversions import validate_conversions
from xconduit.sandbox.envelope import (
    TOO_MANY_REQUESTS,
    VERSIONS,
    ApiError,
    data_response,
    error_response,
    no_access,
    read_json,
)
from xconduit.sandbox.faults import Fault
from xconduit.sandbox.guard import Caller, guarded


async def conversions(
    ctx: SandboxContext, request: Request, caller: Caller, fault: Fault
) -> Response:
    """Check access, budgets and every conversion, then record them (all or none)."""
    pixel_id = request.path_params["pixel_id"]
    pixel = ctx.state.pixel_context(pixel_id)
    if pixel is None:
        message = f"pixel_id ({pixel_id}) was not found"
        return error_response([ApiError(status=404, code="NOT_FOUND", message=message)])
    params = {"account_id": pixel.account_id}
    if not ctx.state.can_write(caller.user_id, pixel.account_id):
        return error_response([no_access(caller.user_id, pixel.account_id)], params)
    body, bad_json = await read_json(request)
    if bad_json is not None:
        return error_response([bad_json], params)
    raw = body.get("conversions") if isinstance(body, dict) else None
    count = len(raw) if isinstance(raw, list) else 0
    quotas = ctx.limiter.conversion_quotas(pixel.account_id, count)
    refused = next((q for q in quotas if not q.allowed), None)
    if refused is not None:
        return error_response([TOO_MANY_REQUESTS], params, headers=refused.headers())
    headers = ctx.limiter.spend_conversion_requests(pixel.account_id)
    errors = validate_conversions(body, pixel)
    if errors:
        return error_response(errors, params, headers=headers)
    assert isinstance(raw, list)
    headers = ctx.limiter.spend_conversion_events(pixel.account_id, count) or headers
    ctx.state.record_conversions(pixel, raw)
    data = {"conversions_processed": count, "debug_id": str(uuid.uuid4())}
    return data_response(data, params, headers=headers)


def conversion_routes(ctx: SandboxContext) -> list[Route]:
    endpoint = guarded(ctx, "conversions", conversions)
    return [
        Route(f"/{v}/measurement/conversions/{{pixel_id}}", endpoint, methods=["POST"])
        for v in VERSIONS
    ]
