"""Test helpers: fixed credentials and an RFC 5849 signer written without oauthlib."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import httpx

from xconduit.xads import XCredentials

CREDS = XCredentials(
    consumer_key="unit-consumer-key-0001",
    consumer_secret="unit-consumer-secret-000000000001",
    access_token="42-unit-access-token-0001",
    access_token_secret="unit-access-token-secret-0001",
)


def _pct(value: str) -> str:
    return quote(value, safe="~-._")


def header_params(authorization: str) -> dict[str, str]:
    assert authorization.startswith("OAuth ")
    pairs = [p.strip().split("=", 1) for p in authorization[6:].split(",")]
    return {k: unquote(v.strip('"')) for k, v in pairs}


def reference_signature(request: httpx.Request, consumer_secret: str, token_secret: str) -> str:
    """RFC 5849 §3.4 written out by hand (no oauthlib), to check the client independently."""
    oauth = header_params(request.headers["Authorization"])
    params = [(k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm")]
    url = urlsplit(str(request.url))
    params += parse_qsl(url.query, keep_blank_values=True)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        params += parse_qsl(request.content.decode(), keep_blank_values=True)
    normalized = "&".join(f"{k}={v}" for k, v in sorted((_pct(k), _pct(v)) for k, v in params))
    port = f":{url.port}" if url.port and url.port not in (80, 443) else ""
    base_uri = f"{url.scheme}://{url.hostname}{port}{url.path}"
    base = "&".join((request.method.upper(), _pct(base_uri), _pct(normalized)))
    key = f"{_pct(consumer_secret)}&{_pct(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base.encode(), hashlib.sha1).digest()).decode()


def signature_of(request: httpx.Request) -> str:
    return header_params(request.headers["Authorization"])["oauth_signature"]
