"""A Conversion API request body checked with X's rules and messages (docs/reference/sandbox.md).

Pure: the caller passes what the pixel's account knows (`PixelContext`); the result is either
the list of errors (the whole request fails) or the number of conversions to record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from xconduit.sandbox.envelope import ApiError

MAX_CONVERSIONS = 500

# X's parse error names `yyyy-MM-ddTHH:mm:ss.SSSZ`; its reference example uses `...:ssZ`.
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_PIXEL_STYLE = re.compile(r"^tw-([0-9a-z]+)-([0-9a-z]+)$")

_STRONG_KEYS = ("twclid", "hashed_email", "hashed_phone_number")
_HASHED_KEYS = ("hashed_email", "hashed_phone_number")


@dataclass(frozen=True, kw_only=True)
class PixelContext:
    """What the pixel's account knows: its own events and every pixel/event id in the sandbox."""

    pixel_id: str
    account_id: str
    account_events: Mapping[str, str]  # event id -> pixel id, for events of this account
    pixel_ids: frozenset[str]  # every pixel (base tag) id in the sandbox


def _invalid(message: str, parameter: str) -> ApiError:
    return ApiError(status=400, code="INVALID_PARAMETER", message=message, parameter=parameter)


def validate_conversions(body: Any, ctx: PixelContext) -> list[ApiError]:
    """All errors of the request; an empty list means every conversion is accepted."""
    if not isinstance(body, dict) or "conversions" not in body:
        return [
            ApiError(
                status=400,
                code="MISSING_PARAMETER",
                message='"conversions" is missing',
                parameter="conversions",
            )
        ]
    conversions = body["conversions"]
    if not isinstance(conversions, list) or not conversions:
        return [_invalid("At least one conversion must be provided", "conversions")]
    if len(conversions) > MAX_CONVERSIONS:
        return [_invalid("Conversion count limit is 500", "conversions")]
    errors: list[ApiError] = []
    for conversion in conversions:
        if not isinstance(conversion, dict):
            errors.append(_invalid("Each conversion must be a JSON object", "conversions"))
            continue
        errors.extend(_check_conversion(conversion, ctx))
    return errors


def _check_conversion(conv: Mapping[str, Any], ctx: PixelContext) -> list[ApiError]:
    errors = _check_time(conv.get("conversion_time"))
    errors += _check_event(conv.get("event_id"), ctx)
    errors += _check_identifiers(conv.get("identifiers"))
    errors += _check_optional(conv)
    return errors


def _check_time(value: Any) -> list[ApiError]:
    if isinstance(value, str) and _TIME.match(value):
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass  # e.g. month 13: same message as a bad format
        else:
            return []
    shown = value if isinstance(value, str) else ("" if value is None else str(value))
    return [
        _invalid(
            f'Expected Time in yyyy-MM-ddTHH:mm:ss.SSSZ, got "{shown}" for conversion_time',
            "conversion_time",
        )
    ]


def resolve_event(event_id: str, ctx: PixelContext) -> str | None:
    """The bare event id for `ol288` or `tw-<pixel>-<event>`, if it is an event of the account."""
    match = _PIXEL_STYLE.match(event_id)
    bare = match.group(2) if match else event_id
    owner = ctx.account_events.get(bare)
    if owner is None or (match is not None and match.group(1) != owner):
        return None
    return bare


def _check_event(value: Any, ctx: PixelContext) -> list[ApiError]:
    if value is None or value == "":
        return [
            ApiError(
                status=400,
                code="MISSING_PARAMETER",
                message="Event ID was not found",
                parameter="event_id",
            )
        ]
    event_id = str(value)
    if event_id in ctx.pixel_ids:
        return [_invalid(f"event_id ({event_id}) is not a single event tag (SET)", "event_id")]
    if resolve_event(event_id, ctx) is None:
        return [
            ApiError(
                status=404,
                code="NOT_FOUND",
                message=f"event_id ({event_id}) does not belong to provided account",
                parameter="event_id",
            )
        ]
    return []


def _check_identifiers(value: Any) -> list[ApiError]:
    merged: dict[str, str] = {}
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                for key, raw in item.items():
                    if isinstance(raw, str) and raw.strip():
                        merged[key] = raw.strip()
    errors = [
        _invalid(f"{key} ({merged[key]}) is not a valid SHA-256 hash", key)
        for key in _HASHED_KEYS
        if key in merged and not _SHA256.match(merged[key])
    ]
    strong = any(key in merged for key in _STRONG_KEYS)
    ip_and_agent = "ip_address" in merged and "user_agent" in merged
    if not strong and not ip_and_agent:
        errors.append(_invalid("At least one user identifier must be provided", ""))
    return errors


def _check_optional(conv: Mapping[str, Any]) -> list[ApiError]:
    errors: list[ApiError] = []
    if "number_items" in conv:
        n = conv["number_items"]
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            errors.append(
                _invalid(f"number_items ({n}) must be a positive integer", "number_items")
            )
    if "value" in conv and not _is_number(conv["value"]):
        errors.append(_invalid(f"value ({conv['value']}) is not a number", "value"))
    if "price_currency" in conv:
        currency = conv["price_currency"]
        if not isinstance(currency, str) or not _CURRENCY.match(currency):
            errors.append(
                _invalid(f"price_currency ({currency}) is not an ISO 4217 code", "price_currency")
            )
    return errors


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False
