"""A custom-audience user's identifiers in X's `users[]` shape (pure; docs/reference/mapping.md §5).

X takes, per user, arrays of `email`, `phone_number`, `handle`, `twitter_id`, `device_id` (all
SHA-256) and `partner_user_id` (the only one in the clear). A person may have several values of a
key; each is normalised on its own and duplicates after normalisation are sent once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from xconduit.errors import ConfigError
from xconduit.events import Event
from xconduit.normalize.identifiers import (
    clean_partner_user_id,
    hash_device_id,
    hash_email,
    hash_handle,
    hash_phone,
    hash_twitter_id,
)
from xconduit.normalize.paths import DEFAULT_PATHS, IdentifierPaths, compile_path, first_present

AUDIENCE_KEYS = ("email", "phone_number", "handle", "twitter_id", "device_id", "partner_user_id")
"""X's audience identifier keys, in the order they are written."""

_PATH_FIELDS = {
    "email": "email",
    "phone_number": "phone",
    "handle": "handle",
    "twitter_id": "twitter_id",
    "device_id": "device_id",
    "partner_user_id": "partner_user_id",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class AudienceIdentifiers:
    """One user's wire values per key (hashed except `partner_user_id`), no raw PII."""

    email: tuple[str, ...] = ()
    phone_number: tuple[str, ...] = ()
    handle: tuple[str, ...] = ()
    twitter_id: tuple[str, ...] = ()
    device_id: tuple[str, ...] = ()
    partner_user_id: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    """Keys that had a value but no valid one, e.g. `("email",)`."""

    def is_empty(self) -> bool:
        """True when no key has a usable value: the user cannot be sent."""
        return not any(getattr(self, key) for key in AUDIENCE_KEYS)

    def payload(self) -> dict[str, list[str]]:
        """One element of X's `params.users`: only keys with values, each an array."""
        return {key: list(getattr(self, key)) for key in AUDIENCE_KEYS if getattr(self, key)}


def audience_user(
    values: Mapping[str, Any], *, region: str = "US", keys: tuple[str, ...] = AUDIENCE_KEYS
) -> AudienceIdentifiers:
    """Normalise and hash already-selected raw values (`{"email": "A@b.co", "handle": [...]}`).

    A value may be a single value or a list of them. `keys` limits the result to the keys the
    destination maps; a key outside X's six is a ConfigError.
    """
    wire: dict[str, tuple[str, ...]] = {}
    dropped: list[str] = []
    for key, raw in values.items():
        convert = _CONVERTERS.get(key)
        if convert is None:
            raise ConfigError(
                f"audience identifier {key!r} is not one of X's: {', '.join(AUDIENCE_KEYS)}"
            )
        if key not in keys or _empty(raw):
            continue
        items = raw if isinstance(raw, list | tuple) else (raw,)
        out: list[str] = []
        for item in items:
            if _empty(item):
                continue
            value = convert(item, region)
            if value is not None and value not in out:
                out.append(value)
        if out:
            wire[key] = tuple(out)
        else:
            dropped.append(key)
    return AudienceIdentifiers(**wire, dropped=tuple(dropped))


def audience_identifiers(values: Mapping[str, Any], *, region: str = "US") -> dict[str, list[str]]:
    """`audience_user(values, region=region).payload()`: X's per-user object, possibly empty."""
    return audience_user(values, region=region).payload()


def audience_values(
    event: Event, *, keys: tuple[str, ...] = AUDIENCE_KEYS, paths: IdentifierPaths = DEFAULT_PATHS
) -> dict[str, Any]:
    """The raw value of each audience key in `event`, by the configured paths (first non-empty).

    Feed the result straight to `audience_user`; do not store it, it is raw PII.
    """
    found: dict[str, Any] = {}
    for key in keys:
        field = _PATH_FIELDS.get(key)
        if field is None:
            raise ConfigError(
                f"audience identifier {key!r} is not one of X's: {', '.join(AUDIENCE_KEYS)}"
            )
        compiled = tuple(compile_path(p, name=field) for p in getattr(paths, field))
        value = first_present(event, compiled)
        if value is not None:
            found[key] = value
    return found


def _empty(raw: Any) -> bool:
    return raw is None or (type(raw) is str and not raw.strip()) or raw == [] or raw == ()


_CONVERTERS: dict[str, Callable[[Any, str], str | None]] = {
    "email": lambda raw, _region: hash_email(raw),
    "phone_number": hash_phone,
    "handle": lambda raw, _region: hash_handle(raw),
    "twitter_id": lambda raw, _region: hash_twitter_id(raw),
    "device_id": lambda raw, _region: hash_device_id(raw),
    "partner_user_id": lambda raw, _region: clean_partner_user_id(raw),
}
