"""The identifiers of one server conversion, from an event (pure; docs/reference/mapping.md §2).

`conversion_identifiers(event)` picks each identifier from the first non-empty source, normalises
and hashes it, and records the ones that were present but invalid in `dropped`. The first
non-empty source wins even when its value is invalid: a later source is not consulted, so the
outcome never depends on which of two conflicting values happens to parse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from xconduit.errors import InvalidEvent
from xconduit.events import Event
from xconduit.normalize import twclid as twclid_sources
from xconduit.normalize.identifiers import (
    clean_ip,
    clean_twclid,
    clean_user_agent,
    hash_email,
    hash_phone,
)
from xconduit.normalize.paths import (
    DEFAULT_PATHS,
    Compiled,
    IdentifierPaths,
    compile_paths,
    first_present,
    lookup,
)

MISSING_IDENTIFIER = "At least one user identifier must be provided"


class ConversionIdentifiers(NamedTuple):
    """X's wire values for one conversion. Holds no raw email or phone, only their hashes.

    Immutable like a frozen dataclass, but built once per event on the hot path, where a
    NamedTuple costs ~0.45 µs less (see docs/explanation/performance.md).
    """

    twclid: str | None = None
    hashed_email: str | None = None
    hashed_phone_number: str | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    dropped: tuple[str, ...] = ()
    """Identifiers that were present but invalid, e.g. `("email", "phone")`."""

    def is_sufficient(self) -> bool:
        """X's rule: twclid, email or phone; IP address and user agent only together."""
        return bool(
            self.twclid
            or self.hashed_email
            or self.hashed_phone_number
            or (self.ip_address and self.user_agent)
        )

    def payload(self) -> list[dict[str, str]]:
        """The conversion's `identifiers` array, in X's shape and order.

        Raises InvalidEvent(MISSING_IDENTIFIER) when the identifiers are not sufficient, so that
        an IP-only conversion cannot reach X by accident.
        """
        if not self.is_sufficient():
            raise InvalidEvent(MISSING_IDENTIFIER, field="identifiers")
        out: list[dict[str, str]] = []
        if self.twclid:
            out.append({"twclid": self.twclid})
        if self.hashed_email:
            out.append({"hashed_email": self.hashed_email})
        if self.hashed_phone_number:
            out.append({"hashed_phone_number": self.hashed_phone_number})
        device: dict[str, str] = {}
        if self.ip_address:
            device["ip_address"] = self.ip_address
        if self.user_agent:
            device["user_agent"] = self.user_agent
        if device:
            out.append(device)
        return out


@dataclass(frozen=True, slots=True)
class _Plan:
    twclid: Compiled
    twclid_urls: Compiled
    twclid_cookies: Compiled
    email: Compiled
    phone: Compiled
    ip_address: Compiled
    user_agent: Compiled


# Compiled paths per IdentifierPaths object, keyed by identity: hashing the dataclass on every
# event would cost more than the lookups. The object is kept in the value so its id stays unique.
_plans: dict[int, tuple[IdentifierPaths, _Plan]] = {}


def _compile(paths: IdentifierPaths) -> _Plan:
    return _Plan(
        twclid=compile_paths(paths.twclid),
        twclid_urls=compile_paths(paths.twclid_urls),
        twclid_cookies=compile_paths(paths.twclid_cookies),
        email=compile_paths(paths.email),
        phone=compile_paths(paths.phone),
        ip_address=compile_paths(paths.ip_address),
        user_agent=compile_paths(paths.user_agent),
    )


_DEFAULT_PLAN = _compile(DEFAULT_PATHS)


def _plan(paths: IdentifierPaths) -> _Plan:
    if paths is DEFAULT_PATHS:
        return _DEFAULT_PLAN
    entry = _plans.get(id(paths))
    if entry is not None and entry[0] is paths:
        return entry[1]
    plan = _compile(paths)
    if len(_plans) > 256:  # configs are few; this only guards against a caller building many
        _plans.clear()
    _plans[id(paths)] = (paths, plan)
    return plan


def conversion_identifiers(
    event: Event,
    *,
    region: str = "US",
    paths: IdentifierPaths = DEFAULT_PATHS,
    client_ip: str | None = None,
) -> ConversionIdentifiers:
    """Read, normalise and hash the identifiers of `event` (docs/reference/mapping.md §2.1–2.2).

    `region` is the destination's default phone region (numbers without `+`). `client_ip` is the
    collector's view of the client address, the last source of `ip_address`; pass it only for
    browser sources, where it is the shopper's address and not a server's.
    """
    plan = _plan(paths)
    dropped: list[str] = []

    twclid = _twclid(event, plan, dropped, use_referrer=paths.twclid_from_referrer)

    email = None
    raw = first_present(event, plan.email)
    if raw is not None:
        email = hash_email(raw)
        if email is None:
            dropped.append("email")

    phone = None
    raw = first_present(event, plan.phone)
    if raw is not None:
        phone = hash_phone(raw, region)
        if phone is None:
            dropped.append("phone")

    ip = None
    raw = first_present(event, plan.ip_address)
    if raw is None:
        raw = client_ip
    if raw is not None:
        ip = clean_ip(raw)
        if ip is None:
            dropped.append("ip_address")

    user_agent = None
    raw = first_present(event, plan.user_agent)
    if raw is not None:
        user_agent = clean_user_agent(raw)
        if user_agent is None:
            dropped.append("user_agent")

    return ConversionIdentifiers(
        twclid, email, phone, ip, user_agent, tuple(dropped) if dropped else ()
    )


def _twclid(event: Event, plan: _Plan, dropped: list[str], *, use_referrer: bool) -> str | None:
    """The click id of the first source that has one; a value that is not an X click id is
    dropped (and counted), never replaced by a later source's."""
    raw = first_present(event, plan.twclid)
    if raw is None and use_referrer and "referrer" in event.context:
        raw = _present(twclid_sources.raw_from_referrer(event))
    # The URL and cookie sources are rare: call their parsers only when a value is there.
    if raw is None:
        raw = _parsed(event, plan.twclid_urls, twclid_sources.raw_from_url)
    if raw is None and event.type == "page" and event.properties:
        # Segment's server libraries put a page's URL in its properties, not its context.
        raw = _parsed(event, _PAGE_URLS, twclid_sources.raw_from_url)
    if raw is None:
        raw = _parsed(event, plan.twclid_cookies, twclid_sources.raw_from_cookie)
    if raw is None:
        return None
    found = clean_twclid(raw)
    if found is None:
        dropped.append("twclid")
    return found


_PAGE_URLS = compile_paths(("properties.url", "properties.search"))


def _parsed(event: Event, paths: Compiled, parse: Callable[[Any], Any]) -> Any:
    """The first value `parse` finds in the values at `paths`."""
    for attr, keys in paths:
        value = lookup(event, attr, keys)
        if value is not None:
            found = _present(parse(value))
            if found is not None:
                return found
    return None


def _present(raw: Any) -> Any:
    """None for a missing or blank value: the next source is tried."""
    return None if raw is None or (type(raw) is str and not raw.strip()) else raw
