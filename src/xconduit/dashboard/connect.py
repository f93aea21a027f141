"""Connect an X account from the dashboard: OAuth 1.0a three-legged, then the token is stored.

GET  /connect/start      request token (callback: this gateway's /connect/callback) and a
                         redirect to X's authorize page
GET  /connect/callback   X sends the user back with a verifier: trade it for the access
                         token, store it encrypted, run the checks
POST /connect/disconnect forget the stored token
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from xconduit.accounts.tokens import consumer_refused
from xconduit.dashboard.html import esc
from xconduit.errors import XconduitError

if TYPE_CHECKING:
    from xconduit.dashboard.context import DashboardContext

_BACK = "/dashboard/connection"
_PENDING_MAX = 20


def _back(message: str) -> Response:
    return RedirectResponse(f"{_BACK}?{urlencode({'notice': message})}", 303)


class Connect:
    def __init__(self, ops: DashboardContext) -> None:
        self.ops = ops
        self._lock = threading.Lock()
        self._pending: dict[str, str] = {}  # request token -> its secret, until the callback

    def routes(self) -> list[Route]:
        return [
            Route("/connect/start", self.start, methods=["GET"]),
            Route("/connect/callback", self.callback, methods=["GET"]),
            Route("/connect/disconnect", self.disconnect, methods=["POST"]),
        ]

    def available(self) -> str | None:
        """Why connecting is not possible here, or None."""
        ops = self.ops
        if ops.settings.x.api == "sandbox":
            return "the built-in sandbox needs no connection"
        if ops.x is None:
            return "this process does not deliver (no X client)"
        if ops.vault is None or not ops.vault.can_store:
            return (
                "set connect.token_key first (XCONDUIT_CONNECT__TOKEN_KEY; create a key with "
                "`xconduit connect --new-key`)"
            )
        return None

    def controls(self) -> str:
        why = self.available()
        if why is not None:
            return f"<p class=muted>Connect X account: {esc(why)}</p>"
        buttons = '<a href="/connect/start"><button>Connect X account</button></a>'
        if self.ops.vault is not None and self.ops.vault.load() is not None:
            buttons += (
                ' <form class="inline" method="post" action="/connect/disconnect">'
                "<button>Disconnect</button></form>"
            )
        return f"<p>{buttons}</p>"

    async def start(self, request: Request) -> Response:
        why = self.available()
        if why is not None or self.ops.x is None:
            return _back(f"cannot connect: {why}")
        callback = _callback_url(request)
        client = self.ops.x
        try:
            pending = await asyncio.to_thread(client.request_token, callback)
        except XconduitError as exc:
            return _back(f"X refused the request token: {consumer_refused(exc)}")
        with self._lock:
            if len(self._pending) >= _PENDING_MAX:
                self._pending.pop(next(iter(self._pending)))
            self._pending[pending.token] = pending.secret
        return RedirectResponse(client.authorize_url(pending.token), 303)

    async def callback(self, request: Request) -> Response:
        q = request.query_params
        if q.get("denied"):
            with self._lock:
                self._pending.pop(q["denied"], None)
            return _back("the connection was cancelled on X")
        token, verifier = q.get("oauth_token", ""), q.get("oauth_verifier", "")
        with self._lock:
            secret = self._pending.pop(token, None)
        if secret is None or not verifier or self.ops.x is None or self.ops.vault is None:
            return HTMLResponse("<p>400: unknown or used request token; connect again</p>", 400)
        client, vault = self.ops.x, self.ops.vault
        try:
            access = await asyncio.to_thread(client.access_token, token, secret, verifier)
            stored = await asyncio.to_thread(vault.save, access)
        except XconduitError as exc:
            return _back(f"connecting failed: {exc}")
        if self.ops.monitor is not None:
            await asyncio.to_thread(self.ops.monitor.run_for_everyone)
        return _back(f"connected as @{stored.screen_name} (user {stored.user_id})")

    async def disconnect(self, request: Request) -> Response:
        if self.ops.vault is None:
            return _back("nothing to disconnect")
        gone = await asyncio.to_thread(self.ops.vault.delete)
        return _back("disconnected: the stored token is deleted" if gone else "was not connected")


def _callback_url(request: Request) -> str:
    return str(request.url.replace(path="/connect/callback", query=""))
