"""Writes to the sandbox's `/_sandbox/*` pages only from the gateway's own origin, or with a token.

Mounted in the gateway (demo mode), `/_sandbox/reset`, `/faults` and `/permissions` would
otherwise be writable by any web page the user opens: a foreign page can POST to
`http://127.0.0.1:8088/_sandbox/reset` (a "simple" cross-origin request needs no CORS preflight)
and wipe or sabotage a demo. Reads stay open. A write (any method but GET, HEAD, OPTIONS) passes
when it carries the token printed at start (`X-Sandbox-Token`), or when it does not come from a
foreign page:

* no `Origin` and no `Sec-Fetch-Site`: not a browser (curl, a script, a test client);
* from a browser: `Sec-Fetch-Site` is `same-origin` or `none` when sent, `Origin` (else
  `Referer`) names the gateway's own host when sent, and the host the browser used is an IP
  address or `localhost`. A page under a DNS name can have that name re-pointed at 127.0.0.1 (DNS
  rebinding) and so look same-origin; such a page needs the token (see `xconduit.hosts`).
"""

from __future__ import annotations

import hmac

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from xconduit.hosts import cross_site, names_this_machine

TOKEN_HEADER = "x-sandbox-token"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def refusal(scope: Scope, token: str) -> str | None:
    """Why this request may not write, or None when it may."""
    if scope["method"] in READ_METHODS:
        return None
    headers = _headers(scope)
    sent = headers.get(TOKEN_HEADER)
    if sent is not None:
        return None if hmac.compare_digest(sent, token) else "the X-Sandbox-Token is wrong"
    if "origin" not in headers and "sec-fetch-site" not in headers:
        return None  # not a browser
    host = headers.get("host", "")
    why = cross_site(headers, host)
    if why is not None:
        return why
    if not names_this_machine(host):
        return f"a page under the host name {host}"
    return None


class SameOriginWrites:
    """ASGI middleware: `app`'s reads are open; writes need the gateway's origin or `token`."""

    def __init__(self, app: ASGIApp, *, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        why = refusal(scope, self.token) if scope["type"] == "http" else None
        if why is None:
            await self.app(scope, receive, send)
            return
        message = (
            f"{scope['method']} {scope['path']}: {why} may not change the sandbox; send it from "
            "the gateway's own address, without a browser (curl), or with the X-Sandbox-Token "
            "header that `xconduit serve` printed at start"
        )
        body = orjson.dumps({"error": message})
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
