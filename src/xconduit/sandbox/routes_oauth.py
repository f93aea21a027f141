"""The three-legged OAuth 1.0a flow: request token, authorize page (or PIN), access token.

Errors follow api.x.com's OAuth endpoints rather than the Ads API envelope:
`{"errors":[{"code":32,"message":"Could not authenticate you."}]}` with 401.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING
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

from xconduit.sandbox.guard import fault_response, signed_request
from xconduit.sandbox.oauth import OAuthFailure
from xconduit.sandbox.state import RequestToken

if TYPE_CHECKING:
    from xconduit.sandbox.app import Sandbox

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


def oauth_routes(sb: Sandbox) -> list[Route]:
    async def request_token(request: Request) -> Response:
        early = await fault_response(sb.faults.next_fault("oauth"), sb)
        if early is not None:
            return early
        try:
            verified = sb.oauth.verify(await signed_request(request), require_token=False)
        except OAuthFailure:
            return _denied()
        callback = verified.params.get("oauth_callback", "")
        if verified.token is not None or not callback:
            return _denied()
        token, secret = f"rt-{sb.state.new_secret(27)}", sb.state.new_secret(32)
        with sb.state.lock:
            sb.state.request_tokens[token] = RequestToken(secret=secret, callback=callback)
        return _form(
            {"oauth_token": token, "oauth_token_secret": secret, "oauth_callback_confirmed": "true"}
        )

    async def authorize_page(request: Request) -> Response:
        token = request.query_params.get("oauth_token", "")
        if token not in sb.state.request_tokens:
            return HTMLResponse("<p>This request token is unknown or was used.</p>", 400)
        options = "".join(
            f'<option value="{html.escape(u.id)}">@{html.escape(u.screen_name)}</option>'
            for u in sb.state.users.values()
        )
        action = html.escape(str(request.url.replace(query="")))
        body = _PAGE.format(action=action, token=html.escape(token), options=options)
        return HTMLResponse(body)

    async def authorize_submit(request: Request) -> Response:
        form = await request.form()
        token = str(form.get("oauth_token", ""))
        user_id = str(form.get("user_id", ""))
        with sb.state.lock:
            pending = sb.state.request_tokens.get(token)
            if pending is None or user_id not in sb.state.users:
                return HTMLResponse("<p>This request token is unknown or was used.</p>", 400)
            if form.get("decision") != "allow":
                del sb.state.request_tokens[token]
                if pending.callback == "oob":
                    return HTMLResponse("<p>Authorization cancelled.</p>")
                return RedirectResponse(_with_query(pending.callback, {"denied": token}), 302)
            pending.user_id = user_id
            oob = pending.callback == "oob"
            pending.verifier = sb.state.new_pin() if oob else sb.state.new_secret(32)
        if pending.callback == "oob":
            return HTMLResponse(_PIN_PAGE.format(pin=pending.verifier))
        target = _with_query(
            pending.callback, {"oauth_token": token, "oauth_verifier": pending.verifier}
        )
        return RedirectResponse(target, 302)

    async def access_token(request: Request) -> Response:
        early = await fault_response(sb.faults.next_fault("oauth"), sb)
        if early is not None:
            return early
        signed = await signed_request(request)
        try:
            verified = sb.oauth.verify(signed)
        except OAuthFailure:
            return _denied()
        form = dict(request.query_params)
        if signed.form_body:
            form.update({k: str(v) for k, v in (await request.form()).items()})
        verifier = verified.params.get("oauth_verifier") or form.get("oauth_verifier", "")
        with sb.state.lock:
            pending = sb.state.request_tokens.get(verified.token or "")
            if pending is None or pending.verifier is None or pending.verifier != verifier:
                return _denied()
            del sb.state.request_tokens[verified.token or ""]
            assert pending.user_id is not None
            token, secret = sb.state.issue_token(pending.user_id)
            screen_name = sb.state.users[pending.user_id].screen_name
        return _form(
            {
                "oauth_token": token,
                "oauth_token_secret": secret,
                "user_id": pending.user_id,
                "screen_name": screen_name,
            }
        )

    return [
        Route("/oauth/request_token", request_token, methods=["POST"]),
        Route("/oauth/authorize", authorize_page, methods=["GET"]),
        Route("/oauth/authorize", authorize_submit, methods=["POST"]),
        Route("/oauth/authenticate", authorize_page, methods=["GET"]),
        Route("/oauth/authenticate", authorize_submit, methods=["POST"]),
        Route("/oauth/access_token", access_token, methods=["POST"]),
    ]
