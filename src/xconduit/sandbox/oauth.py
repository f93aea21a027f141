"""OAuth 1.0a (HMAC-SHA1) request verification, as X checks it.

Signed parameters are the `oauth_*` values of the Authorization header, the query string and a
form-encoded body (RFC 5849 §3.4.1.3). A JSON body is not a parameter source, so it is not
signed. The base string and signature come from oauthlib; only the decisions are ours.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from oauthlib.oauth1.rfc5849 import signature, utils

# X rejects timestamps too far from its clock; RFC 5849 leaves the window to the server.
TIMESTAMP_WINDOW_SECONDS = 300.0


class OAuthFailure(Exception):
    """The request is not properly authenticated (the reason is for logs and tests only).
    Internal to the sandbox: its routes turn it into X's 401 answer; it never leaves the package,
    so it stays outside `xconduit.errors`."""


@dataclass(frozen=True, kw_only=True)
class SignedRequest:
    """What verification needs from an HTTP request."""

    method: str
    url: str  # full URL as received, query string included
    authorization: str | None
    form_body: str = ""  # the body only when it is application/x-www-form-urlencoded


@dataclass(frozen=True, kw_only=True)
class VerifiedRequest:
    consumer_key: str
    token: str | None
    params: dict[str, str]  # the oauth_* values (oauth_callback, oauth_verifier, ...)


def header_params(authorization: str | None) -> dict[str, str]:
    if not authorization or not authorization.lower().startswith("oauth "):
        raise OAuthFailure("missing OAuth Authorization header")
    try:
        pairs = utils.parse_authorization_header(authorization)
    except ValueError as exc:
        raise OAuthFailure(f"malformed Authorization header: {exc}") from exc
    return {k: utils.unescape(v) for k, v in pairs if k != "realm"}


def compute_signature(req: SignedRequest, consumer_secret: str, token_secret: str) -> str:
    """The HMAC-SHA1 signature the request should carry."""
    query = req.url.partition("?")[2].partition("#")[0]
    try:
        params = signature.collect_parameters(
            uri_query=query,
            body=req.form_body or None,
            headers={"Authorization": req.authorization or ""},
        )
    except ValueError as exc:  # oauthlib rejects characters that cannot be in a query string
        raise OAuthFailure(f"unparsable parameters: {exc}") from exc
    normalized = signature.normalize_parameters(params)
    base_uri = signature.base_string_uri(req.url.partition("?")[0])
    base = signature.signature_base_string(req.method.upper(), base_uri, normalized)
    secrets = _Secrets(client_secret=consumer_secret, resource_owner_secret=token_secret)
    return str(signature.sign_hmac_sha1_with_client(base, secrets))


@dataclass(frozen=True, kw_only=True)
class _Secrets:
    """The two attributes oauthlib's signing function reads from its client object."""

    client_secret: str
    resource_owner_secret: str


class OAuthVerifier:
    """Checks signature, keys, timestamp window and nonce replay.

    `consumer_secret_for` and `token_secret_for` return None for unknown keys/tokens.
    """

    def __init__(
        self,
        *,
        consumer_secret_for: Callable[[str], str | None],
        token_secret_for: Callable[[str], str | None],
        clock: Callable[[], float],
        window: float = TIMESTAMP_WINDOW_SECONDS,
    ) -> None:
        self._consumer_secret_for = consumer_secret_for
        self._token_secret_for = token_secret_for
        self._clock = clock
        self._window = window
        self._nonces: dict[tuple[str, str, str], float] = {}

    def verify(self, req: SignedRequest, *, require_token: bool = True) -> VerifiedRequest:
        params = header_params(req.authorization)
        for name in ("oauth_consumer_key", "oauth_signature", "oauth_timestamp", "oauth_nonce"):
            if not params.get(name):
                raise OAuthFailure(f"{name} is missing")
        if params.get("oauth_signature_method") != "HMAC-SHA1":
            raise OAuthFailure("oauth_signature_method must be HMAC-SHA1")
        if params.get("oauth_version", "1.0") != "1.0":
            raise OAuthFailure("oauth_version must be 1.0")
        consumer_secret = self._consumer_secret_for(params["oauth_consumer_key"])
        if consumer_secret is None:
            raise OAuthFailure("unknown consumer key")
        token = params.get("oauth_token") or None
        token_secret = ""
        if token is not None:
            found = self._token_secret_for(token)
            if found is None:
                raise OAuthFailure("unknown token")
            token_secret = found
        elif require_token:
            raise OAuthFailure("oauth_token is missing")
        self._check_timestamp(params["oauth_timestamp"])
        expected = compute_signature(req, consumer_secret, token_secret)
        if not hmac.compare_digest(expected, params["oauth_signature"]):
            raise OAuthFailure("signature does not match")
        self._check_nonce(params)
        return VerifiedRequest(
            consumer_key=params["oauth_consumer_key"],
            token=token,
            params=dict(params),
        )

    def reset(self) -> None:
        self._nonces.clear()

    def _check_timestamp(self, raw: str) -> None:
        try:
            stamp = int(raw)
        except ValueError as exc:
            raise OAuthFailure("oauth_timestamp is not an integer") from exc
        if abs(self._clock() - stamp) > self._window:
            raise OAuthFailure("oauth_timestamp is outside the allowed window")

    def _check_nonce(self, params: Mapping[str, str]) -> None:
        now = self._clock()
        # Forget nonces whose timestamps can no longer pass the window check.
        self._nonces = {k: t for k, t in self._nonces.items() if abs(now - t) <= self._window}
        key = (params["oauth_consumer_key"], params["oauth_nonce"], params["oauth_timestamp"])
        if key in self._nonces:
            raise OAuthFailure("nonce already used")
        self._nonces[key] = float(params["oauth_timestamp"])
