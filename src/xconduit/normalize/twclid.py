"""The X click id's other homes: the referrer, a landing URL, the tag's cookie (pure).

Each function returns the value found there unchecked: the caller checks it with `clean_twclid`
and counts a refused one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote

from xconduit.events import Event

_X_REFERRERS = frozenset(("twitter", "x"))


def raw_from_referrer(event: Event) -> Any:
    """`context.referrer.id` when `context.referrer.type` is `twitter` or `x` (any case)."""
    referrer = event.context.get("referrer")
    if referrer is None or not isinstance(referrer, Mapping):
        return None
    kind = referrer.get("type")
    if type(kind) is not str or kind.strip().lower() not in _X_REFERRERS:
        return None
    return referrer.get("id")


def raw_from_url(value: Any) -> str | None:
    """The first non-empty `twclid` query parameter of a URL or of a query string."""
    if type(value) is not str or "twclid" not in value:
        return None  # the common case: no parse at all
    # Works for full and relative URLs, `?a=1` search strings and hash-router URLs alike.
    query = value.split("?", 1)[1] if "?" in value else value
    query = query.split("#", 1)[0]
    for key, param in parse_qsl(query):
        if key == "twclid" and param.strip():
            return param
    return None


def raw_from_cookie(value: Any) -> Any:
    """The `_twclid` cookie: X's JSON `{"twclid": ..., "twclid_ts": ...}`, URL-encoded or not,
    or the bare id."""
    if value is None:
        return None
    if type(value) is not str:
        return value.get("twclid") if isinstance(value, Mapping) else None
    text = value.strip()
    if text.startswith(("%7B", "%7b")):
        text = unquote(text)
    if not text.startswith("{"):
        return text or None
    try:
        decoded = json.loads(text)
    except ValueError:
        return None
    return decoded.get("twclid") if isinstance(decoded, dict) else None
