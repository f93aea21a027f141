"""Where identifiers are read in an event: configurable dotted paths (pure).

A path is the event's JSON field names joined by dots, starting at a top-level field:
`properties.email`, `context.traits.email`, `userId`. Keys that themselves contain a dot cannot
be addressed (Segment does not produce them). Defaults (docs/reference/mapping.md §2.1) need no
configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from xconduit.errors import ConfigError
from xconduit.events import Event

# Top-level event fields a path may start with, in JSON spelling and in Python spelling.
_ROOTS: dict[str, str] = {
    "properties": "properties",
    "traits": "traits",
    "context": "context",
    "integrations": "integrations",
    "userId": "user_id",
    "user_id": "user_id",
    "anonymousId": "anonymous_id",
    "anonymous_id": "anonymous_id",
    "messageId": "message_id",
    "message_id": "message_id",
    "groupId": "group_id",
    "group_id": "group_id",
}

Compiled = tuple[tuple[str, tuple[str, ...]], ...]
"""Per path: the Event attribute, then the keys to follow inside it."""


def compile_path(path: str, *, name: str = "path") -> tuple[str, tuple[str, ...]]:
    """Split a dotted path into (Event attribute, keys); ConfigError when it cannot be one."""
    if not isinstance(path, str) or not path:
        raise ConfigError(f"identifier paths: {name} has an empty or non-text path")
    root, *keys = path.split(".")
    attr = _ROOTS.get(root)
    if attr is None or "" in keys:
        starts = ", ".join(sorted(k for k in _ROOTS if "_" not in k))
        raise ConfigError(
            f"identifier paths: {name} path {path!r} must start with one of {starts} "
            "and have no empty parts"
        )
    if attr not in ("properties", "traits", "context", "integrations") and keys:
        raise ConfigError(f"identifier paths: {name} path {path!r}: {root} has no fields")
    return attr, tuple(keys)


@dataclass(frozen=True, kw_only=True, slots=True)
class IdentifierPaths:
    """Event fields each identifier is read from; the first non-empty one wins."""

    twclid: tuple[str, ...] = ("properties.twclid", "context.twclid")
    """Fields holding the click id itself."""
    twclid_from_referrer: bool = True
    """Also take `context.referrer.id` when `context.referrer.type` is `twitter` or `x`."""
    twclid_urls: tuple[str, ...] = ("context.page.url", "context.page.search")
    """URLs or query strings whose `twclid` query parameter is the click id."""
    twclid_cookies: tuple[str, ...] = ("context.cookies._twclid",)
    """The browser tag's `_twclid` cookie value: JSON `{"twclid": ...}` or the bare id."""
    email: tuple[str, ...] = ("properties.email", "context.traits.email", "traits.email")
    phone: tuple[str, ...] = ("properties.phone", "context.traits.phone", "traits.phone")
    ip_address: tuple[str, ...] = ("properties.ip_address", "context.ip")
    user_agent: tuple[str, ...] = ("properties.user_agent", "context.userAgent")
    handle: tuple[str, ...] = ("traits.twitter_handle",)
    twitter_id: tuple[str, ...] = ("traits.twitter_id",)
    device_id: tuple[str, ...] = ("context.device.advertisingId",)
    partner_user_id: tuple[str, ...] = ("userId",)

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, bool):
                continue
            if not isinstance(value, tuple):
                raise ConfigError(f"identifier paths: {spec.name} must be a list of field paths")
            for path in value:
                compile_path(path, name=spec.name)


DEFAULT_PATHS = IdentifierPaths()


def compile_paths(paths: tuple[str, ...]) -> Compiled:
    return tuple(compile_path(p) for p in paths)


def lookup(event: Event, attr: str, keys: tuple[str, ...]) -> Any:
    """The value at one compiled path, or None when any step is missing or not an object."""
    value: Any = getattr(event, attr)
    for key in keys:
        # `type(...) is dict` first: the ABC check costs ~0.2 µs and events hold plain dicts.
        if type(value) is not dict and not isinstance(value, Mapping):
            return None
        value = value.get(key)
        if value is None:
            return None
    return value


def first_present(event: Event, compiled: Compiled) -> Any:
    """The first value that is not empty (None, blank text, `{}`, `[]`), or None."""
    # The hot loop: about a dozen paths per event, so `lookup` is inlined and the usual one- and
    # two-key paths skip the generic walk. Event roots are mappings by construction.
    for attr, keys in compiled:
        value: Any = getattr(event, attr)
        if keys:
            value = value.get(keys[0])
            if value is None:
                continue
            if len(keys) > 1:
                for key in keys[1:]:
                    if type(value) is not dict and not isinstance(value, Mapping):
                        value = None
                        break
                    value = value.get(key)
                    if value is None:
                        break
                if value is None:
                    continue
        elif value is None:
            continue
        if type(value) is str:
            if value and not value.isspace():
                return value
        elif value or not isinstance(value, Mapping | list):
            return value
    return None
