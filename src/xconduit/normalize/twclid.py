"""The X click id's other homes: the referrer, a landing URL, the tag's cookie (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote

from xconduit.events import Event
from xconduit.normalize.identifiers import clean_twclid

_X_REFERRERS = frozenset(("twitter", "x"))


def from_referrer(event: Event) -> str | None:
    """`context.referrer.id` when `context.referrer.type` is `twitter` or `x` (any case)."""
    referrer = event.context.get("referrer")
    if referrer is None or not isinstance(referrer, Mapping):
        return None
    kind = referrer.get("type")
    if type(kind) is not str or kind.strip().lower() not in _X_REFERRERS:
        return None
    return clean_twclid(referrer.get("id"))


def from_url(value: Any) -> str | None:
    """The `twclid` query parameter of a URL or of a query string (`?a=1&twclid=...`)."""
    if type(value) is not str or "twclid" not in value:
        return None  # the common case: no parse at all
    # Works for full and relative URLs, `?a=1` search strings and hash-router URLs alike.
    query = value.split("?", 1)[1] if "?" in value else value
    query = query.split("#", 1)[0]
    for key, param in parse_qsl(query):
        if key == "twclid":
            found = clean_twclid(param)
            if found is not None:
                return found
    return None


def from_cookie(value: Any) -> str | None:
    """The `_twclid` cookie: X's JSON `{"twclid": ..., "twclid_ts": ...}`, URL-encoded or not,
    or the bare id."""
    if value is None:
        return None
    if type(value) is not str:
        return clean_twclid(value.get("twclid")) if isinstance(value, Mapping) else None
    text = value.strip()
    if text.startswith(("%7B", "%7b")):
        text = unquote(text)
    if not text.startswith("{"):
        return clean_twclid(text)
    try:
        decoded = json.loads(text)
    except ValueError:
        return None
    return clean_twclid(decoded.get("twclid")) if isinstance(decoded, dict) else None
