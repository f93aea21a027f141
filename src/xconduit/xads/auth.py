"""OAuth 1.0a HMAC-SHA1 request signing as an `httpx.Auth`, delegated to oauthlib.

What is signed follows RFC 5849 §3.4.1.3 as X applies it: the oauth_* parameters, the query
string and a form-encoded body. A JSON body is not a parameter source, so the Conversion API and
audience-users calls are signed over URL + oauth parameters only, while create-audience
(`?name=...`) has its name inside the signature.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import httpx
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, Client

from xconduit.xads.credentials import XCredentials

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class OAuth1Auth(httpx.Auth):
    """Adds `Authorization: OAuth ...` to every request.

    `nonce` and `clock` exist for tests that need a reproducible signature; by default oauthlib
    draws a random nonce and reads the current time.
    """

    requires_request_body = True

    def __init__(
        self,
        credentials: XCredentials,
        *,
        callback_uri: str | None = None,
        verifier: str | None = None,
        nonce: Callable[[], str] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._credentials = credentials
        self._callback_uri = callback_uri
        self._verifier = verifier
        self._nonce = nonce
        self._clock = clock

    def __repr__(self) -> str:
        return f"OAuth1Auth({self._credentials!r})"

    def sign(self, request: httpx.Request) -> str:
        """Return the Authorization header value for `request`."""
        creds = self._credentials
        client = Client(
            creds.consumer_key,
            client_secret=creds.consumer_secret,
            resource_owner_key=creds.access_token or None,
            resource_owner_secret=creds.access_token_secret or None,
            callback_uri=self._callback_uri,
            verifier=self._verifier,
            signature_method=SIGNATURE_HMAC_SHA1,
            nonce=self._nonce() if self._nonce else None,
            timestamp=str(int(self._clock())) if self._clock else None,
        )
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body: str | None = None
        headers: dict[str, str] = {}
        if content_type == FORM_CONTENT_TYPE and request.content:
            body = request.content.decode("utf-8")
            headers["Content-Type"] = FORM_CONTENT_TYPE
        _, signed, _ = client.sign(str(request.url), request.method, body=body, headers=headers)
        return str(signed["Authorization"])

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.sign(request)
        yield request
