"""One exception tree for the whole package.

Each class's docstring is its default message; raise with a more precise one when you can.

    XconduitError
    ├── ConfigError                  the configuration cannot be used (names the key and the fix)
    ├── InvalidEvent                 an input event cannot be an event (skip it and record why)
    ├── StoreError                   the outbox store failed (I/O, schema, migration)
    │   └── StoreBusy                another writer held the store past `busy_timeout`
    ├── SourceError                  a warehouse source cannot be read (names the cause, no data)
    └── DeliveryError                a request to X did not deliver
        ├── RetriableDeliveryError   try again later (408, 423, 5xx, timeouts, count mismatch)
        │   └── RateLimited          try again at `retry_at` (429, budget exhausted)
        └── FatalDeliveryError       never retry the same request (other 4xx)
            └── AuthError            401/403: credentials, signature or permissions

Two exceptions live outside the tree on purpose, each caught inside its own package and never
raised to a caller: `mapping.values.BadValue` (becomes an invalid event's reason) and
`sandbox.oauth.OAuthFailure` (becomes the sandbox's 401 answer).
"""

from __future__ import annotations

from dataclasses import dataclass


class XconduitError(Exception):
    """Something went wrong in xconduit."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__class__.__doc__ or "").strip())


class ConfigError(XconduitError):
    """The configuration is not valid."""


class InvalidEvent(XconduitError):
    """The input is not a valid event."""

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class StoreError(XconduitError):
    """The outbox store failed."""


class StoreBusy(StoreError):
    """The outbox is held by another writer; nothing was written, try again shortly."""


@dataclass(frozen=True, kw_only=True)
class XErrorDetail:
    """One entry of X's `errors` array."""

    code: str | None
    message: str
    parameter: str | None = None


class DeliveryError(XconduitError):
    """The request to X was not delivered."""

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        errors: tuple[XErrorDetail, ...] = (),
        debug_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors
        self.debug_id = debug_id


class RetriableDeliveryError(DeliveryError):
    """X could not take the request now; it may be retried."""


class RateLimited(RetriableDeliveryError):
    """X's rate limit is reached; retry at the reset time."""

    def __init__(self, message: str | None = None, *, retry_at: float, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_at = retry_at


class FatalDeliveryError(DeliveryError):
    """X rejected the request; sending it again unchanged will fail again."""


class AuthError(FatalDeliveryError):
    """X refused the credentials, the signature or the token's permissions."""


class SourceError(XconduitError):
    """A warehouse source cannot be read (unreachable, bad query, missing file)."""
