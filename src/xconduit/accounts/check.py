"""The setup checks: what `xconduit check` prints and `serve` runs at start and every few minutes.

For every ad account the configuration uses (conversion destinations and audiences):

    credentials   X accepts the token (authenticated_user_access answers)
    role          the token's user has ACCOUNT_ADMIN or AD_MANAGER on the account
    pixel         the destination's pixel has events in the account's web_event_tags
    event         each mapped event id is one of that pixel's events
    audience      each configured audience id exists in the account

Each check is ✓, ✗ (with the fix) or – (skipped: an earlier check failed); against the built-in
sandbox, which is seeded from the configuration, a pass says nothing about X and shows as ◐
(`seeded_from_config`). Pure but for the three X calls, which go through `XReader` (an
`XAdsClient`, or a fake in unit tests).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Protocol

from xconduit.config import Settings
from xconduit.errors import AuthError, DeliveryError, FatalDeliveryError
from xconduit.xads import Audience, UserAccess, WebEventTag

WRITE_ROLES = ("ACCOUNT_ADMIN", "AD_MANAGER")
GRANT = "Ads Manager → account settings → Account access"


class XReader(Protocol):
    """The X calls the checks make."""

    def authenticated_user_access(self, account_id: str) -> UserAccess: ...

    def web_event_tags(self, account_id: str) -> list[WebEventTag]: ...

    def get_audience(self, account_id: str, audience_id: str) -> Audience: ...


class Status(enum.StrEnum):
    OK = "ok"
    FAIL = "fail"
    SKIP = "skip"
    UNCHECKED = "unchecked"
    """Passed against the built-in sandbox only, which is seeded from the configuration."""


@dataclass(frozen=True, kw_only=True)
class Check:
    """One line of the check table."""

    subject: str
    """What is checked: `account 18ce552mlaq`, `conversions.shop`, `audiences.vip`."""
    account_id: str
    item: str
    """`credentials`, `role`, `pixel oka17`, `event Purchase (ol288)`, `audience 1a2b3`."""
    status: Status
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    @property
    def blocks_delivery(self) -> bool:
        """A failed credentials or role check: every request to the account would be refused."""
        return self.status is Status.FAIL and self.item in ("credentials", "role")

    @property
    def mark(self) -> str:
        return {Status.OK: "✓", Status.FAIL: "✗", Status.SKIP: "–", Status.UNCHECKED: "◐"}[
            self.status
        ]


def failed(checks: Iterable[Check]) -> list[Check]:
    return [c for c in checks if c.status is Status.FAIL]


def blocked_accounts(checks: Iterable[Check]) -> dict[str, str]:
    """Accounts whose delivery cannot work, each with the first reason."""
    blocked: dict[str, str] = {}
    for check in checks:
        if check.blocks_delivery:
            blocked.setdefault(check.account_id, f"{check.item}: {check.detail}")
    return blocked


SEEDED = "built-in sandbox, seeded from this configuration: not checked against X"


def seeded_from_config(checks: Iterable[Check]) -> list[Check]:
    """The checks as run against the built-in sandbox: it holds whatever the configuration
    names, so each pass is ◐ (nothing was checked against X), not ✓."""
    return [
        replace(c, status=Status.UNCHECKED, detail=f"{c.detail} ({SEEDED})") if c.ok else c
        for c in checks
    ]


def destination_key(name: str, key: str) -> str:
    """A destination's setting as the user wrote it: `conversion destination "shop": pixel_id`
    (the wording of the dashboard's problems, never `conversions[0].pixel_id`)."""
    return f'conversion destination "{name}": {key}'


def shown_subject(subject: str) -> str:
    """`conversions.shop` → `conversion destination "shop"`, `audiences.vip` → `audience
    "vip"`; any other subject (`account 18ce552mlaq`) as it is."""
    kind, dot, rest = subject.partition(".")
    words = {"conversions": "conversion destination", "audiences": "audience"}.get(kind)
    if not dot or words is None:
        return subject
    name, space, tail = rest.partition(" ")
    return f'{words} "{name}"{space}{tail}'


def bare_event_id(event_id: str) -> str:
    """`tw-oka17-ol288` → `ol288` (the id web_event_tags lists)."""
    return event_id.rsplit("-", 1)[-1]


def run_checks(settings: Settings, x: XReader) -> list[Check]:
    """Every check of the configuration, accounts first, in configuration order."""
    accounts = list(
        dict.fromkeys(
            [d.account_id for d in settings.conversions]
            + [a.account_id for a in settings.audiences]
        )
    )
    checks: list[Check] = []
    usable: set[str] = set()
    for account_id in accounts:
        account_checks = _access(account_id, x)
        checks += account_checks
        if all(c.ok for c in account_checks):
            usable.add(account_id)
    tags: dict[str, list[WebEventTag] | Check] = {}
    for dest in settings.conversions:
        subject = f"conversions.{dest.name}"
        if dest.account_id not in usable:
            checks.append(_skipped(subject, dest.account_id, f"pixel {dest.pixel_id}"))
            continue
        if dest.account_id not in tags:
            tags[dest.account_id] = _event_tags(subject, dest.account_id, x)
        found = tags[dest.account_id]
        if isinstance(found, Check):
            checks.append(found)
            continue
        events = {**dest.events}
        if dest.page_event_id:
            events["Page view (page_event_id)"] = dest.page_event_id
        checks += _pixel_and_events(
            subject, dest.name, dest.account_id, dest.pixel_id, events, found
        )
    for audience in settings.audiences:
        subject = f"audiences.{audience.name}"
        if not audience.audience_id:
            item = "audience (new)"
            detail = "no audience_id: one is created on the first sync"
            checks.append(_check(subject, audience.account_id, item, Status.OK, detail))
        elif audience.account_id not in usable:
            checks.append(
                _skipped(subject, audience.account_id, f"audience {audience.audience_id}")
            )
        else:
            checks.append(
                _audience(subject, audience.name, audience.account_id, audience.audience_id, x)
            )
    return checks


def _check(
    subject: str, account_id: str, item: str, status: Status, detail: str, fix: str = ""
) -> Check:
    return Check(
        subject=subject, account_id=account_id, item=item, status=status, detail=detail, fix=fix
    )


def _skipped(subject: str, account_id: str, item: str) -> Check:
    detail = f"not checked: the token cannot use account {account_id} (see above)"
    return _check(subject, account_id, item, Status.SKIP, detail)


def _error_text(error: DeliveryError) -> str:
    codes = ", ".join(d.code or "-" for d in error.errors)
    return f"X answered {error.status or 'nothing'}" + (f" ({codes})" if codes else "")


def _access(account_id: str, x: XReader) -> list[Check]:
    subject = f"account {account_id}"
    try:
        access = x.authenticated_user_access(account_id)
    except AuthError as error:
        fix = (
            "connect the account again (`xconduit connect`, or Connect X account on the "
            "dashboard), or set x.access_token/x.access_token_secret to a valid token; if X "
            "refuses the connection too, x.consumer_key/x.consumer_secret are not your app's "
            "(the API key and secret in the X developer portal)"
        )
        if error.status == 403:
            fix = (
                "the app itself lacks Ads API access or is read-only: check it in the X "
                "developer portal (Ads API access, read and write permission)"
            )
        return [
            _check(subject, account_id, "credentials", Status.FAIL, _error_text(error), fix),
            _check(subject, account_id, "role", Status.SKIP, "not checked: no valid token"),
        ]
    except FatalDeliveryError as error:  # 404: the token's user has no access to the account
        detail = f"{_error_text(error)}: the token's user has no access to account {account_id}"
        fix = (
            f"an ACCOUNT_ADMIN of account {account_id} can add the user with AD_MANAGER "
            f"({GRANT}); or check the account id in the configuration"
        )
        return [
            _check(subject, account_id, "credentials", Status.OK, "X accepted the token"),
            _check(subject, account_id, "role", Status.FAIL, detail, fix),
        ]
    except DeliveryError as error:
        detail = f"X did not answer: {error}"
        return [
            _check(subject, account_id, "credentials", Status.FAIL, detail, "try again later"),
            _check(subject, account_id, "role", Status.SKIP, "not checked: X did not answer"),
        ]
    ok = _check(subject, account_id, "credentials", Status.OK, f"token of user {access.user_id}")
    roles = sorted(access.permissions)
    have = ", ".join(roles) or "no role"
    if access.permissions & set(WRITE_ROLES):
        role = _check(subject, account_id, "role", Status.OK, f"user {access.user_id}: {have}")
    else:
        detail = f"user {access.user_id} has {have}; sending needs ACCOUNT_ADMIN or AD_MANAGER"
        fix = (
            f"an ACCOUNT_ADMIN of account {account_id} can grant AD_MANAGER to user "
            f"{access.user_id} ({GRANT})"
        )
        role = _check(subject, account_id, "role", Status.FAIL, detail, fix)
    return [ok, role]


def _event_tags(subject: str, account_id: str, x: XReader) -> list[WebEventTag] | Check:
    try:
        return x.web_event_tags(account_id)
    except DeliveryError as error:
        detail = f"cannot list web_event_tags: {_error_text(error)}"
        return _check(subject, account_id, "pixel", Status.FAIL, detail, "try again later")


def _pixel_and_events(
    subject: str,
    name: str,
    account_id: str,
    pixel_id: str,
    events: dict[str, str],
    tags: list[WebEventTag],
) -> list[Check]:
    pixels = sorted({t.website_tag_id for t in tags if t.website_tag_id})
    mine = {t.id: t for t in tags if t.website_tag_id == pixel_id}
    everything = {t.id: t for t in tags}
    if mine:
        detail = f"{len(mine)} event(s) in account {account_id}"
        out = [_check(subject, account_id, f"pixel {pixel_id}", Status.OK, detail)]
    else:
        detail = f"account {account_id} has no pixel {pixel_id}"
        known = ", ".join(pixels) or "none"
        fix = (
            f"set {destination_key(name, 'pixel_id')} to the pixel id of Events Manager's base "
            f"code (pixels of this account: {known})"
        )
        out = [_check(subject, account_id, f"pixel {pixel_id}", Status.FAIL, detail, fix)]
    for event, event_id in events.items():
        bare = bare_event_id(event_id)
        tw = f"tw-{pixel_id}-{bare}"
        item = f"event {event} ({tw})"
        tag = everything.get(bare)
        key = destination_key(
            name,
            "page_event_id" if event.endswith("(page_event_id)") else f'events["{event}"]',
        )
        if tag is None:
            ids = ", ".join(f"tw-{pixel_id}-{t}" for t in sorted(mine)) or "none"
            detail = f"no event {tw} in web_event_tags of account {account_id}"
            fix = f"create the event in Events Manager, or fix {key} (events of this pixel: {ids})"
            out.append(_check(subject, account_id, item, Status.FAIL, detail, fix))
        elif tag.website_tag_id != pixel_id:
            other = f"tw-{tag.website_tag_id}-{bare}"
            detail = f"event {other} belongs to pixel {tag.website_tag_id}, not {pixel_id}"
            fix = f"fix {key} or {destination_key(name, 'pixel_id')} so that they match"
            out.append(_check(subject, account_id, item, Status.FAIL, detail, fix))
        else:
            detail = f"{tag.name or bare}, {tag.status or 'status unknown'}"
            out.append(_check(subject, account_id, item, Status.OK, detail))
    return out


def _audience(subject: str, name: str, account_id: str, audience_id: str, x: XReader) -> Check:
    item = f"audience {audience_id}"
    try:
        audience = x.get_audience(account_id, audience_id)
    except DeliveryError as error:
        detail = f"{_error_text(error)}: no audience {audience_id} in account {account_id}"
        fix = (
            f'set audience "{name}": audience_id to an audience of account {account_id}, or '
            "leave it empty to create one"
        )
        return _check(subject, account_id, item, Status.FAIL, detail, fix)
    if audience.deleted:
        fix = f'leave audience "{name}": audience_id empty to create a new audience'
        return _check(subject, account_id, item, Status.FAIL, "the audience is deleted", fix)
    return _check(subject, account_id, item, Status.OK, audience.name)
