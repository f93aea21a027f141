"""X's JSON envelopes: `{"data", "request"}` on success, `{"errors", "request"}` on failure."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

API_VERSION = "12"
VERSIONS = ("11", "12")
"""The Ads API versions every route answers under (`/11/...`, `/12/...`)."""


@dataclass(frozen=True, kw_only=True)
class ApiError:
    """One entry of X's `errors` array, with the HTTP status it implies."""

    status: int
    code: str
    message: str
    parameter: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.parameter is not None:
            body["parameter"] = self.parameter
        return body


UNAUTHORIZED = ApiError(
    status=401, code="UNAUTHORIZED_ACCESS", message="This request is not properly authenticated"
)
ROUTE_NOT_FOUND = ApiError(
    status=404, code="ROUTE_NOT_FOUND", message="The requested resource could not be found"
)
NOT_FOUND = ApiError(
    status=404, code="NOT_FOUND", message="The requested resource could not be found"
)
TOO_MANY_REQUESTS = ApiError(status=429, code="TOO_MANY_REQUESTS", message="Rate limit exceeded")
INTERNAL_ERROR = ApiError(status=500, code="INTERNAL_ERROR", message="Internal server error")
SERVICE_UNAVAILABLE = ApiError(
    status=503, code="SERVICE_UNAVAILABLE", message="Service unavailable due to request timeout"
)


def typed_params(params: Mapping[str, str]) -> dict[str, Any]:
    """Query (or form) parameters as X echoes them in `request.params`: typed as documented.

    X's parameters follow fixed conventions: `count` is an int, every `with_*` flag a boolean,
    every `*_ids` a comma-separated list; its examples echo them as a number, a boolean and an
    array (`"custom_audience_ids": ["1nmth"]`, `"count": 1`). A value that does not read as
    its type is echoed as sent (the endpoint refuses it anyway).
    """
    out: dict[str, Any] = {}
    for name, value in params.items():
        typed: Any = value
        if name == "count" and value.strip().isdigit():
            typed = int(value)
        elif name.startswith("with_") and value.lower() in ("true", "false"):
            typed = value.lower() == "true"
        elif name.endswith("_ids"):
            typed = [v for v in value.split(",") if v]
        out[name] = typed
    return out


def no_access(user_id: str, account_id: str) -> ApiError:
    return ApiError(
        status=404,
        code="NOT_FOUND",
        message=f"User {user_id} does not have access to account {account_id}",
    )


async def read_json(request: Request) -> tuple[Any, ApiError | None]:
    """The request's JSON body (None when empty), or X's error for a body that is not JSON."""
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


def error_status(errors: Iterable[ApiError]) -> int:
    """One status for a list: 400 when any error is a 400, else the first error's status."""
    statuses = [e.status for e in errors]
    return 400 if 400 in statuses else statuses[0]


def error_body(
    errors: Iterable[ApiError], params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    return {"errors": [e.as_json() for e in errors], "request": {"params": dict(params or {})}}


def error_response(
    errors: list[ApiError],
    params: Mapping[str, Any] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body = error_body(errors, params)
    body.update(extra or {})
    return JSONResponse(body, status_code=error_status(errors), headers=dict(headers or {}))


def data_response(
    data: Any,
    params: Mapping[str, Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"request": {"params": dict(params)}, "data": data}
    body.update(extra or {})
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))
