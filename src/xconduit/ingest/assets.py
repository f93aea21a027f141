"""Static files the gateway serves to browsers (`/tag.js`, `/tag/plugin.js`): compressed once at
start-up, with an `ETag` (a `304` when the browser already holds it) and a cache policy.

Every page of a shop loads the tag, so its bytes count: brotli when the browser asks for it,
else gzip, else the plain file. Each encoding is its own representation with its own strong
`ETag` (RFC 9110 §8.8.3), and `Vary: Accept-Encoding` keeps shared caches from mixing them.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass

import brotli
from starlette.requests import Request
from starlette.responses import Response

CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=86400"
"""Browsers reuse the file for 5 minutes, then ask again with `If-None-Match` (a 304 costs no
body); a new tag reaches every visitor within 5 minutes of a gateway upgrade."""

_PREFERENCE = ("br", "gzip", "identity")


@dataclass(frozen=True, slots=True)
class _Variant:
    body: bytes
    etag: str


class StaticAsset:
    """One file in every encoding, ready to send."""

    def __init__(self, body: bytes, media_type: str = "application/javascript") -> None:
        self.media_type = media_type
        digest = hashlib.sha256(body).hexdigest()[:20]
        self.variants = {
            "identity": _Variant(body, f'"{digest}"'),
            "gzip": _Variant(gzip.compress(body, 9, mtime=0), f'"{digest}-gz"'),
            "br": _Variant(brotli.compress(body, quality=11), f'"{digest}-br"'),
        }

    def response(self, request: Request) -> Response:
        encoding = choose_encoding(request.headers.get("accept-encoding", ""))
        variant = self.variants[encoding]
        headers = {"Cache-Control": CACHE_CONTROL, "ETag": variant.etag, "Vary": "Accept-Encoding"}
        if encoding != "identity":
            headers["Content-Encoding"] = encoding
        if _matches(request.headers.get("if-none-match", ""), variant.etag):
            return Response(status_code=304, headers=headers)
        return Response(variant.body, headers=headers, media_type=self.media_type)


def choose_encoding(accept_encoding: str) -> str:
    """The best of br, gzip and identity the `Accept-Encoding` header allows (q > 0)."""
    weights: dict[str, float] = {}
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip().lower()
        if not name:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[name] = q
    star = weights.get("*")
    for name in _PREFERENCE[:-1]:
        q = weights.get(name, star if star is not None else 0.0)
        if q > 0:
            return name
    return "identity"


def _matches(if_none_match: str, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    # Weak comparison, as If-None-Match asks (RFC 9110 §13.1.2): W/"x" matches "x".
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))
