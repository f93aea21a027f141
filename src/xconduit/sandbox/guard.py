"""What every Ads API route does before its own work: faults, OAuth, and the request log.

`RecordingMiddleware` wraps the whole app: it logs each request (method, path, status, time),
adds `x-current-api-version`, and keeps the server's `send` so a fault can drop the connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xconduit.sandbox.context import SandboxContext
from xconduit.sandbox.envelope import (
    API_VERSION,
    INTERNAL_ERROR,
    SERVICE_UNAVAILABLE,
    TOO_MANY_REQUESTS,
    UNAUTHORIZED,
    error_response,
)
from xconduit.sandbox.faults import Fault
from xconduit.sandbox.oauth import OAuthFailure, SignedRequest, VerifiedRequest
from xconduit.sandbox.ratelimit import Quota

_RAW_SEND = "xconduit.sandbox.raw_send"
_LOG = "xconduit.sandbox.log"


@dataclass(frozen=True, kw_only=True)
class Caller:
    """The authenticated request: its token's user and its oauth_* values."""

    user_id: str
    oauth: VerifiedRequest


Handler = Callable[[SandboxContext, Request, Caller, Fault], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


async def signed_request(request: Request) -> SignedRequest:
    content_type = request.headers.get("content-type", "")
    form = ""
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = (await request.body()).decode("utf-8", errors="replace")
    return SignedRequest(
        method=request.method,
        url=str(request.url),
        authorization=request.headers.get("authorization"),
        form_body=form,
    )


class DropResponse(Response):
    """Closes the client's connection without an answer (a real drop when served by uvicorn)."""

    def __init__(self) -> None:
        super().__init__(status_code=599)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await drop_connection(scope)


async def drop_connection(scope: Scope) -> None:
    log = scope.get(_LOG)
    if log is not None:
        log("dropped")  # before closing, so the log is complete when the client notices
    raw_send = scope.get(_RAW_SEND)
    transport = getattr(getattr(raw_send, "__self__", None), "transport", None)
    if transport is None:
        # In-process (httpx.ASGITransport) there is no socket: fail as a dropped socket would.
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
    transport.abort()
    await asyncio.sleep(0)  # let the server see the disconnect, so it does not answer 500


async def fault_response(fault: Fault, clock: Callable[[], float]) -> Response | None:
    """Delay (then go on), or answer for the fault; None means handle the request normally."""
    if fault.delay:
        await asyncio.sleep(fault.delay)
    if fault.drop:
        return DropResponse()
    if fault.status == 500:
        return error_response([INTERNAL_ERROR])
    if fault.status == 503:
        headers = {} if fault.retry_after is None else {"retry-after": f"{fault.retry_after:g}"}
        return error_response([SERVICE_UNAVAILABLE], headers=headers)
    if fault.status == 429:
        reset = str(int(clock() + fault.reset_in))
        headers = {
            "x-rate-limit-limit": "0",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": reset,
            "x-account-rate-limit-limit": "0",
            "x-account-rate-limit-remaining": "0",
            "x-account-rate-limit-reset": reset,
        }
        return error_response([TOO_MANY_REQUESTS], headers=headers)
    return None


def guarded(ctx: SandboxContext, kind: str, handler: Handler) -> Endpoint:
    """An endpoint that applies faults of `kind`, then verifies OAuth, then calls `handler`."""

    async def endpoint(request: Request) -> Response:
        fault = ctx.faults.next_fault(kind)
        early = await fault_response(fault, ctx.clock)
        if early is not None:
            return early
        try:
            verified = ctx.oauth.verify(await signed_request(request))
        except OAuthFailure:
            return error_response([UNAUTHORIZED])
        user_id = ctx.state.user_for_token(verified.token or "")
        if user_id is None:  # a request token cannot call the API
            return error_response([UNAUTHORIZED])
        caller = Caller(user_id=user_id, oauth=verified)
        limits: dict[str, str] = {}
        if request.method == "GET":
            quota, account_level = _read_quota(ctx, request, caller)
            if quota is not None:
                limits = quota.headers(account_level=account_level)
                if not quota.allowed:
                    return error_response([TOO_MANY_REQUESTS], headers=limits)
        response = await handler(ctx, request, caller, fault)
        response.headers.update(limits)
        if fault.drop_after:
            return DropResponse()
        return response

    return endpoint


def _read_quota(ctx: SandboxContext, request: Request, caller: Caller) -> tuple[Quota | None, bool]:
    """The GET's budget, spent (X: limits per endpoint, of the ad account when the path names
    one, else of the token's user), and whether it is an account's."""
    route = request.scope.get("route")
    template = str(getattr(route, "path", request.url.path))
    endpoint = template.lstrip("/").partition("/")[2]  # one budget for /11/... and /12/...
    account_id = request.path_params.get("account_id")
    owner = account_id if account_id is not None else caller.user_id
    quota = ctx.limiter.spend_read(owner, endpoint, account_level=account_id is not None)
    return quota, account_id is not None


class RecordingMiddleware:
    def __init__(self, app: ASGIApp, ctx: SandboxContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        root = scope.get("root_path", "")
        local = path[len(root) :] if root and path.startswith(root) else path
        logged = local.startswith("/_sandbox")  # inspection requests are not logged

        def log(status: int | str | None) -> None:
            nonlocal logged
            if not logged:
                logged = True
                entry = {"method": scope["method"], "path": local, "status": status}
                self.ctx.state.log_request({**entry, "time": self.ctx.clock()})

        scope[_RAW_SEND] = send
        scope[_LOG] = log

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                log(message["status"])  # before sending: complete when the client has it
                headers = list(message.get("headers", []))
                headers.append((b"x-current-api-version", API_VERSION.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            log(None)
