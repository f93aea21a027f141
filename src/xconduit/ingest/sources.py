"""Who may send: write keys → sources, each source's browser origins and request rate."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xconduit.config import SourceSettings


def basic_user(authorization: str | None) -> str | None:
    """The user of an HTTP Basic `Authorization` header (Segment's write key), else None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user = decoded.partition(":")[0]
    return user or None


@dataclass(frozen=True, kw_only=True, slots=True)
class Source:
    """A source as the collector needs it."""

    name: str
    origins: frozenset[str]
    any_origin: bool
    rate_limit: float
    client_ip: bool

    def allows(self, origin: str) -> bool:
        return self.any_origin or origin in self.origins


class KeyRing:
    """Looks up the source of a write key; knows every origin any source allows (for preflight)."""

    def __init__(self, sources: Sequence[SourceSettings]) -> None:
        self._by_key: dict[str, Source] = {}
        self.origins: set[str] = set()
        self.any_origin = False
        for settings in sources:
            origins = frozenset(o.rstrip("/") for o in settings.allowed_origins if o != "*")
            source = Source(
                name=settings.name,
                origins=origins,
                any_origin="*" in settings.allowed_origins,
                rate_limit=settings.rate_limit,
                client_ip=settings.client_ip,
            )
            self.origins |= origins
            self.any_origin |= source.any_origin
            for key in settings.write_keys:
                self._by_key[key.get_secret_value()] = source

    def source(self, write_key: str) -> Source | None:
        return self._by_key.get(write_key)

    def allows_somewhere(self, origin: str) -> bool:
        return self.any_origin or origin in self.origins


class RateLimiter:
    """A token bucket per source: `rate` requests per second, bursts of up to `max(rate, 1)`."""

    def __init__(self, *, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # name → (tokens, at)

    def wait(self, source: Source) -> float:
        """0 if the request may go now (and count it), else seconds until it may."""
        rate = source.rate_limit
        if rate <= 0:
            return 0.0
        now = self._clock()
        burst = max(rate, 1.0)
        tokens, at = self._buckets.get(source.name, (burst, now))
        tokens = min(burst, tokens + (now - at) * rate)
        if tokens >= 1.0:
            self._buckets[source.name] = (tokens - 1.0, now)
            return 0.0
        self._buckets[source.name] = (tokens, now)
        return (1.0 - tokens) / rate


def retry_after(seconds: float) -> str:
    """A `Retry-After` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
