"""Typed results of the X Ads API calls, parsed from X's `data` member (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from xconduit.errors import FatalDeliveryError

CONVERSION_PERMISSIONS = frozenset({"ACCOUNT_ADMIN", "AD_MANAGER"})
"""Roles that may mint a token for the Conversion API (and, by inference, CRM audiences)."""


def _unexpected(endpoint: str, what: str) -> FatalDeliveryError:
    # A 2xx we cannot read means X changed the contract; retrying would not help.
    return FatalDeliveryError(f"{endpoint}: X answered 2xx but {what}")


def _object(data: Any, endpoint: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _unexpected(endpoint, "`data` is not an object")
    return data


def _list(data: Any, endpoint: str) -> list[Mapping[str, Any]]:
    if not isinstance(data, list) or not all(isinstance(item, Mapping) for item in data):
        raise _unexpected(endpoint, "`data` is not a list of objects")
    return data


def _str(item: Mapping[str, Any], key: str, endpoint: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise _unexpected(endpoint, f"`{key}` is missing")
    return value


def _opt_str(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    return None if value is None else str(value)


def _strs(item: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = item.get(key)
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


@dataclass(frozen=True, kw_only=True)
class RateLimitStatus:
    """X's `x-account-rate-limit-*` (else `x-rate-limit-*`) headers of one answer."""

    limit: int | None
    remaining: int | None
    reset: float | None
    """Epoch seconds when the window resets."""


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimitStatus | None:
    """The rate-limit headers, account-level first; None when X sent none."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for prefix in ("x-account-rate-limit-", "x-rate-limit-"):
        values = [lowered.get(prefix + name) for name in ("limit", "remaining", "reset")]
        if any(v is not None for v in values):
            limit, remaining, reset = (_number(v) for v in values)
            return RateLimitStatus(
                limit=None if limit is None else int(limit),
                remaining=None if remaining is None else int(remaining),
                reset=reset,
            )
    return None


def _number(value: str | None) -> float | None:
    try:
        return None if value is None else float(value.strip())
    except ValueError:
        return None


@dataclass(frozen=True, kw_only=True)
class ConversionsResult:
    processed: int
    """`conversions_processed` as X reported it."""
    sent: int
    debug_id: str | None
    account_id: str | None
    """The account X resolved from the pixel (`request.params.account_id`)."""
    rate_limit: RateLimitStatus | None = None
    """X's rate-limit headers on this answer (to tighten a client-side budget)."""

    @property
    def complete(self) -> bool:
        """X processed every conversion sent (the API is all-or-nothing, so this should hold)."""
        return self.processed == self.sent


@dataclass(frozen=True, kw_only=True)
class Audience:
    id: str
    name: str
    description: str | None = None
    audience_type: str | None = None
    targetable: bool = False
    targetable_types: tuple[str, ...] = ()
    reasons_not_targetable: tuple[str, ...] = ()
    audience_size: int | None = None
    permission_level: str | None = None
    owner_account_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    deleted: bool = False


@dataclass(frozen=True, kw_only=True)
class AudiencePage:
    audiences: tuple[Audience, ...]
    next_cursor: str | None
    total_count: int | None = None


@dataclass(frozen=True, kw_only=True)
class AudienceUsersResult:
    success_count: int
    total_count: int
    sent_users: int
    requests: int
    """How many HTTP requests the operations were split into."""
    rate_limit: RateLimitStatus | None = None
    """X's `x-rate-limit-*` headers on the last request."""

    @property
    def matched(self) -> bool:
        """X counted every user sent; if not, X asks for the whole payload to be resent."""
        return self.success_count == self.total_count == self.sent_users


@dataclass(frozen=True, kw_only=True)
class UserAccess:
    user_id: str
    permissions: frozenset[str]

    @property
    def can_send_conversions(self) -> bool:
        return bool(self.permissions & CONVERSION_PERMISSIONS)


@dataclass(frozen=True, kw_only=True)
class Account:
    id: str
    name: str | None = None
    approval_status: str | None = None
    timezone: str | None = None
    business_id: str | None = None
    deleted: bool = False


@dataclass(frozen=True, kw_only=True)
class WebEventTag:
    id: str
    name: str | None = None
    website_tag_id: str | None = None
    """The pixel id this event belongs to."""
    type: str | None = None
    status: str | None = None
    last_tracked_at: str | None = None
    click_window: int | None = None
    view_through_window: int | None = None


@dataclass(frozen=True, kw_only=True)
class RequestToken:
    token: str
    secret: str
    callback_confirmed: bool

    def __repr__(self) -> str:
        return f"RequestToken(token={self.token!r}, secret='***')"


@dataclass(frozen=True, kw_only=True)
class AccessToken:
    token: str
    secret: str
    user_id: str
    screen_name: str

    def __repr__(self) -> str:
        return f"AccessToken(token=..., secret='***', user_id={self.user_id!r})"


def parse_conversions(document: Any, *, sent: int) -> ConversionsResult:
    endpoint = "conversions"
    data = _object(document.get("data") if isinstance(document, Mapping) else None, endpoint)
    processed = data.get("conversions_processed")
    if not isinstance(processed, int):
        raise _unexpected(endpoint, "`conversions_processed` is missing")
    params = document.get("request", {}).get("params", {}) if isinstance(document, dict) else {}
    return ConversionsResult(
        processed=processed,
        sent=sent,
        debug_id=_opt_str(data, "debug_id"),
        account_id=_opt_str(params, "account_id") if isinstance(params, Mapping) else None,
    )


def parse_audience(data: Any, endpoint: str = "custom_audiences") -> Audience:
    item = _object(data, endpoint)
    size = item.get("audience_size")
    return Audience(
        id=_str(item, "id", endpoint),
        name=_str(item, "name", endpoint),
        description=_opt_str(item, "description"),
        audience_type=_opt_str(item, "audience_type"),
        targetable=bool(item.get("targetable", False)),
        targetable_types=_strs(item, "targetable_types"),
        reasons_not_targetable=_strs(item, "reasons_not_targetable"),
        audience_size=size if isinstance(size, int) else None,
        permission_level=_opt_str(item, "permission_level"),
        owner_account_id=_opt_str(item, "owner_account_id"),
        created_at=_opt_str(item, "created_at"),
        updated_at=_opt_str(item, "updated_at"),
        deleted=bool(item.get("deleted", False)),
    )


def next_cursor(document: Any) -> str | None:
    cursor = document.get("next_cursor") if isinstance(document, Mapping) else None
    return cursor if isinstance(cursor, str) and cursor else None


def parse_audience_page(document: Any) -> AudiencePage:
    endpoint = "custom_audiences"
    items = _list(document.get("data") if isinstance(document, Mapping) else None, endpoint)
    total = document.get("total_count")
    return AudiencePage(
        audiences=tuple(parse_audience(item, endpoint) for item in items),
        next_cursor=next_cursor(document),
        total_count=total if isinstance(total, int) else None,
    )


def parse_user_access(data: Any) -> UserAccess:
    endpoint = "authenticated_user_access"
    item = _object(data, endpoint)
    return UserAccess(
        user_id=_str(item, "user_id", endpoint), permissions=frozenset(_strs(item, "permissions"))
    )


def parse_accounts(data: Any) -> list[Account]:
    endpoint = "accounts"
    return [
        Account(
            id=_str(item, "id", endpoint),
            name=_opt_str(item, "name"),
            approval_status=_opt_str(item, "approval_status"),
            timezone=_opt_str(item, "timezone"),
            business_id=_opt_str(item, "business_id"),
            deleted=bool(item.get("deleted", False)),
        )
        for item in _list(data, endpoint)
    ]


def _opt_int(item: Mapping[str, Any], key: str) -> int | None:
    value = item.get(key)
    return value if isinstance(value, int) else None


def parse_web_event_tags(data: Any) -> list[WebEventTag]:
    endpoint = "web_event_tags"
    return [
        WebEventTag(
            id=_str(item, "id", endpoint),
            name=_opt_str(item, "name"),
            website_tag_id=_opt_str(item, "website_tag_id"),
            type=_opt_str(item, "type"),
            status=_opt_str(item, "status"),
            last_tracked_at=_opt_str(item, "last_tracked_at"),
            click_window=_opt_int(item, "click_window"),
            view_through_window=_opt_int(item, "view_through_window"),
        )
        for item in _list(data, endpoint)
    ]


def _form(body: bytes, endpoint: str) -> dict[str, str]:
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
    except (UnicodeDecodeError, ValueError):
        raise _unexpected(endpoint, "the body is not form-encoded") from None


def parse_request_token(body: bytes) -> RequestToken:
    endpoint = "oauth/request_token"
    form = _form(body, endpoint)
    return RequestToken(
        token=_str(form, "oauth_token", endpoint),
        secret=_str(form, "oauth_token_secret", endpoint),
        callback_confirmed=form.get("oauth_callback_confirmed") == "true",
    )


def parse_access_token(body: bytes) -> AccessToken:
    endpoint = "oauth/access_token"
    form = _form(body, endpoint)
    return AccessToken(
        token=_str(form, "oauth_token", endpoint),
        secret=_str(form, "oauth_token_secret", endpoint),
        user_id=form.get("user_id", ""),
        screen_name=form.get("screen_name", ""),
    )
