"""Sign each request with the credentials of the moment, so a new token takes effect at once.

Delivery keeps one `XAdsClient` for the life of the process; when the operator connects the X
account again (a new token after a revoked one), the next request must carry the new token
without a restart. `provider` is asked before every request (a read of the token store).
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import httpx

from xconduit.accounts.tokens import TokenVault
from xconduit.xads import OAuth1Auth, XCredentials


class CurrentCredentialsAuth(httpx.Auth):
    """OAuth 1.0a with the credentials `provider` returns at the time of each request."""

    requires_request_body = True

    def __init__(self, provider: Callable[[], XCredentials]) -> None:
        self._provider = provider

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = OAuth1Auth(self._provider()).sign(request)
        yield request


def connected_account_auth(vault: TokenVault, consumer: XCredentials) -> CurrentCredentialsAuth:
    """Signs with the app's `consumer` key and the connected account's token, read from `vault`
    at each request."""

    def current() -> XCredentials:
        stored = vault.load()
        if stored is None:  # not connected: X answers 401, delivery pauses, the check says so
            return consumer
        return XCredentials(
            consumer_key=consumer.consumer_key,
            consumer_secret=consumer.consumer_secret,
            access_token=stored.token,
            access_token_secret=stored.secret,
        )

    return CurrentCredentialsAuth(current)
