"""Classify every answer from X in one pure function, then turn the outcome into an error.

    status                      outcome        error raised by the client
    2xx                         delivered      none
    2xx, audience counts off    partial        none from audience_users (summed, flagged);
                                               RetriableDeliveryError from `error_for`
    429                         rate_limited   RateLimited(retry_at = account reset, else user
                                               reset, else retry-after, else now + default)
    408, 423, 5xx               retriable      RetriableDeliveryError; RateLimited when a 503
                                               carries retry-after (the class that holds retry_at)
    401, 403                    fatal          AuthError
    other 3xx/4xx               fatal          FatalDeliveryError

Timeouts and network errors never reach this function; the client maps them to
RetriableDeliveryError where the request is made. Bodies that are not JSON (an HTML 404 page, the
form-encoded OAuth answers) are fine: the status decides.
"""

from __future__ import annotations

import email.utils
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from xconduit.errors import (
    AuthError,
    DeliveryError,
    FatalDeliveryError,
    RateLimited,
    RetriableDeliveryError,
    XErrorDetail,
)

DEFAULT_RATE_LIMIT_WAIT = 60.0
"""Seconds to wait after a 429 that names no reset time (X's shortest window is one minute)."""

RETRIABLE_4XX = frozenset({408, 423})
AUTH_STATUSES = frozenset({401, 403})

# X echoes offending values in error messages ("hashed_email (<v>) is not a valid SHA-256
# hash"); if the value is a hash, an email or a phone number it must not reach logs or storage.
_REDACTIONS = (
    (re.compile(r"\b[0-9a-fA-F]{32,}\b"), "<hash>"),
    (re.compile(r"[^\s()\"',;<>]+@[^\s()\"',;<>]+"), "<email>"),
    (re.compile(r"\+\d[\d ().-]{5,}\d"), "<phone>"),
)


class OutcomeKind(enum.StrEnum):
    DELIVERED = "delivered"
    PARTIAL = "partial"
    RATE_LIMITED = "rate_limited"
    RETRIABLE = "retriable"
    FATAL = "fatal"


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What one HTTP answer from X means for the caller."""

    kind: OutcomeKind
    status: int
    errors: tuple[XErrorDetail, ...] = ()
    retry_at: float | None = None
    debug_id: str | None = None
    api_version: str | None = None
    api_warn: str | None = None
    success_count: int | None = None
    total_count: int | None = None
    data: Any = None
    """The `data` member of a JSON body, when there is one."""

    @property
    def is_auth(self) -> bool:
        return self.kind is OutcomeKind.FATAL and self.status in AUTH_STATUSES


def redact(text: str) -> str:
    """Replace hashes, emails and phone numbers in X's error text by placeholders."""
    for pattern, placeholder in _REDACTIONS:
        text = pattern.sub(placeholder, text)
    return text


def parse_json(body: bytes) -> Any:
    """The decoded JSON body, or None when the body is empty or not JSON."""
    if not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def parse_errors(document: Any) -> tuple[XErrorDetail, ...]:
    """X's `errors` (and `operation_errors`) arrays as XErrorDetail values, redacted."""
    if not isinstance(document, dict):
        return ()
    details: list[XErrorDetail] = []
    for key in ("errors", "operation_errors"):
        items = document.get(key)
        if not isinstance(items, list):
            continue
        for item in items:
            if not isinstance(item, dict):
                continue
            code = item.get("code")
            parameter = item.get("parameter")
            details.append(
                XErrorDetail(
                    code=None if code is None else str(code),
                    message=redact(str(item.get("message") or "")),
                    parameter=None if parameter in (None, "") else str(parameter),
                )
            )
    return tuple(details)


def _epoch(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """`retry-after` as an epoch time: delay-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return now + float(text)
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def rate_limit_reset(headers: Mapping[str, str], *, now: float, default_wait: float) -> float:
    """When to try again after a 429: account reset, else user reset, else retry-after."""
    for name in ("x-account-rate-limit-reset", "x-rate-limit-reset"):
        reset = _epoch(headers.get(name))
        if reset is not None:
            return max(reset, now)
    after = parse_retry_after(headers.get("retry-after"), now=now)
    if after is not None:
        return max(after, now)
    return now + default_wait


def _count(data: Any, key: str) -> int | None:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def classify(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    sent_users: int | None = None,
    now: float,
    default_wait: float = DEFAULT_RATE_LIMIT_WAIT,
) -> Outcome:
    """Decide what an answer from X means. Pure: the clock is `now` (epoch seconds).

    `sent_users` is the number of user objects of an audience-users request; with it a 2xx whose
    `success_count`/`total_count` differ from each other or from it is `partial`.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    document = parse_json(body)
    data = document.get("data") if isinstance(document, dict) else None
    debug_id = data.get("debug_id") if isinstance(data, dict) else None
    common: dict[str, Any] = {
        "status": status,
        "debug_id": debug_id if isinstance(debug_id, str) else None,
        "api_version": lowered.get("x-current-api-version"),
        "api_warn": lowered.get("x-api-warn"),
        "errors": parse_errors(document),
        "data": data,
    }
    if 200 <= status < 300:
        if sent_users is None:
            return Outcome(kind=OutcomeKind.DELIVERED, **common)
        success, total = _count(data, "success_count"), _count(data, "total_count")
        matched = success == total == sent_users
        kind = OutcomeKind.DELIVERED if matched else OutcomeKind.PARTIAL
        return Outcome(kind=kind, success_count=success, total_count=total, **common)
    if status == 429:
        retry_at = rate_limit_reset(lowered, now=now, default_wait=default_wait)
        return Outcome(kind=OutcomeKind.RATE_LIMITED, retry_at=retry_at, **common)
    if status in RETRIABLE_4XX or 500 <= status < 600:
        after = parse_retry_after(lowered.get("retry-after"), now=now) if status == 503 else None
        return Outcome(kind=OutcomeKind.RETRIABLE, retry_at=after, **common)
    return Outcome(kind=OutcomeKind.FATAL, **common)


def describe(outcome: Outcome, endpoint: str) -> str:
    """One line for an exception message: endpoint, status and X's first error, redacted."""
    text = f"{endpoint}: X answered {outcome.status}"
    if outcome.kind is OutcomeKind.PARTIAL:
        return (
            f"{endpoint}: X counted {outcome.success_count} of {outcome.total_count} users "
            "(differs from the users sent); resend the whole request"
        )
    if outcome.errors:
        first = outcome.errors[0]
        text += f" {first.code or ''}".rstrip() + f": {first.message}"
        if first.parameter:
            text += f" (parameter {first.parameter})"
        if len(outcome.errors) > 1:
            text += f" (+{len(outcome.errors) - 1} more)"
    if outcome.debug_id:
        text += f" [debug_id {outcome.debug_id}]"
    return text


def error_for(outcome: Outcome, endpoint: str) -> DeliveryError | None:
    """The exception from `xconduit.errors` matching `outcome`, or None when delivered."""
    details: dict[str, Any] = {
        "status": outcome.status,
        "errors": outcome.errors,
        "debug_id": outcome.debug_id,
    }
    message = describe(outcome, endpoint)
    match outcome.kind:
        case OutcomeKind.DELIVERED:
            return None
        case OutcomeKind.RATE_LIMITED:
            assert outcome.retry_at is not None
            return RateLimited(message, retry_at=outcome.retry_at, **details)
        case OutcomeKind.RETRIABLE if outcome.retry_at is not None:
            return RateLimited(message, retry_at=outcome.retry_at, **details)
        case OutcomeKind.RETRIABLE | OutcomeKind.PARTIAL:
            return RetriableDeliveryError(message, **details)
        case OutcomeKind.FATAL if outcome.is_auth:
            return AuthError(message, **details)
        case _:
            return FatalDeliveryError(message, **details)
