"""The three-legged OAuth 1.0a flow: request token, authorize page (or PIN), access token.

Errors follow api.x.com's OAuth endpoints rather than the Ads API envelope:
`{"errors":[{"code":32,"message":"Could not authenticate you."}]}` with 401.
"""

from __future__ import annotations

import html
from functools import partial
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

from xconduit.sandbox.context import SandboxContext
from xconduit.sandbox.guard import fault_response, signed_request
from xconduit.sandbox.oauth import OAuthFailure
from xconduit.sandbox.state import RequestToken

_COULD_NOT_AUTHENTICATE = {"errors": [{"code": 32, "message": "Could not authenticate you."}]}


def _denied() -> Response:
    return JSONResponse(_COULD_NOT_AUTHENTICATE, status_code=401)


def _form(values: dict[str, str]) -> Response:
    return PlainTextResponse(urlencode(values), media_type="application/x-www-form-urlencoded")


def _with_query(url: str, values: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(values)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Authorize app - X sandbox</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 3em auto">
<h1>X sandbox</h1>
<p>An application wants to use your (sandbox) X Ads account. This is the local sandbox,
not X: nothing leaves this machine.</p>
<form method="post" action="{action}">
<input type="hidden" name="oauth_token" value="{token}">
<p><label>Sign in as <select name="user_id">{options}</select></label></p>
<p><button type="submit" name="decision" value="allow">Authorize app</button>
<button type="submit" name="decision" value="deny">Cancel</button></p>
</form></body></html>
"""

_PIN_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>PIN - X sandbox</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 3em auto">
<h1>X sandbox</h1><p>Enter this PIN in the application:</p>
<p id="pin" style="font-size: 2em"><code>{pin}</code></p></body></html>
"""


async def request_token(ctx: SandboxContext, request: Request) -> Response:
    """Leg 1: a consumer-signed request with `oauth_callback` gets a request token."""
    early = await fault_response(ctx.faults.next_fault("oauth"), ctx.clock)
    if early is not None:
        return early
    try:
        verified = ctx.oauth.verify(await signed_request(request), require_token=False)
    except OAuthFailure:
        return _denied()
    callback = verified.params.get("oauth_callback", "")
    if verified.token is not None or not callback:
        return _denied()
    token, secret = f"rt-{ctx.state.new_secret(27)}", ctx.state.new_secret(32)
    with ctx.state.lock:
        ctx.state.request_tokens[token] = RequestToken(secret=secret, callback=callback)
    return _form(
        {"oauth_token": token, "oauth_token_secret": secret, "oauth_callback_confirmed": "true"}
    )


async def authorize_page(ctx: SandboxContext, request: Request) -> Response:
    """Leg 2: the page where the user picks a seeded account and allows or cancels."""
    token = request.query_params.get("oauth_token", "")
    if token not in ctx.state.request_tokens:
        return HTMLResponse("<p>This request token is unknown or was used.</p>", 400)
    options = "".join(
        f'<option value="{html.escape(u.id)}">@{html.escape(u.screen_name)}</option>'
        for u in ctx.state.users.values()
    )
    action = html.escape(str(request.url.replace(query="")))
    body = _PAGE.format(action=action, token=html.escape(token), options=options)
    return HTMLResponse(body)


async def authorize_submit(ctx: SandboxContext, request: Request) -> Response:
    """Leg 2 answered: redirect to the callback with a verifier (or show a PIN for `oob`)."""
    form = await request.form()
    token = str(form.get("oauth_token", ""))
    user_id = str(form.get("user_id", ""))
    with ctx.state.lock:
        pending = ctx.state.request_tokens.get(token)
        if pending is None or user_id not in ctx.state.users:
            return HTMLResponse("<p>This request token is unknown or was used.</p>", 400)
        if form.get("decision") != "allow":
            del ctx.state.request_tokens[token]
            if pending.callback == "oob":
                return HTMLResponse("<p>Authorization cancelled.</p>")
            return RedirectResponse(_with_query(pending.callback, {"denied": token}), 302)
        pending.user_id = user_id
        oob = pending.callback == "oob"
        pending.verifier = ctx.state.new_pin() if oob else ctx.state.new_secret(32)
    if pending.callback == "oob":
        return HTMLResponse(_PIN_PAGE.format(pin=pending.verifier))
    target = _with_query(
        pending.callback, {"oauth_token": token, "oauth_verifier": pending.verifier}
    )
    return RedirectResponse(target, 302)


async def access_token(ctx: SandboxContext, request: Request) -> Response:
    """Leg 3: the request token and its verifier become an access token (once)."""
    early = await fault_response(ctx.faults.next_fault("oauth"), ctx.clock)
    if early is not None:
        return early
    signed = await signed_request(request)
    try:
        verified = ctx.oauth.verify(signed)
    except OAuthFailure:
        return _denied()
    form = dict(request.query_params)
    if signed.form_body:
        form.update({k: str(v) for k, v in (await request.form()).items()})
    verifier = verified.params.get("oauth_verifier") or form.get("oauth_verifier", "")
    with ctx.state.lock:
        pending = ctx.state.request_tokens.get(verified.token or "")
        if pending is None or pending.verifier is None or pending.verifier != verifier:
            return _denied()
        del ctx.state.request_tokens[verified.token or ""]
        assert pending.user_id is not None
        token, secret = ctx.state.issue_token(pending.user_id)
        screen_name = ctx.state.users[pending.user_id].screen_name
    return _form(
        {
            "oauth_token": token,
            "oauth_token_secret": secret,
            "user_id": pending.user_id,
            "screen_name": screen_name,
        }
    )


def oauth_routes(ctx: SandboxContext) -> list[Route]:
    return [
        Route("/oauth/request_token", partial(request_token, ctx), methods=["POST"]),
        Route("/oauth/authorize", partial(authorize_page, ctx), methods=["GET"]),
        Route("/oauth/authorize", partial(authorize_submit, ctx), methods=["POST"]),
        Route("/oauth/authenticate", partial(authorize_page, ctx), methods=["GET"]),
        Route("/oauth/authenticate", partial(authorize_submit, ctx), methods=["POST"]),
        Route("/oauth/access_token", partial(access_token, ctx), methods=["POST"]),
    ]
