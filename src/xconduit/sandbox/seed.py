"""What the sandbox knows at start: ad accounts, pixels, events, users and their permissions.

A `Seed` is a plain frozen dataclass tree so that other code (the gateway, tests) can build one
from its own configuration; `load_seed` reads the same tree from a small TOML file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xconduit.errors import ConfigError

# X's documented permission values (docs/reference/sandbox.md).
PERMISSIONS = frozenset(
    {
        "ACCOUNT_ADMIN",
        "AD_MANAGER",
        "CREATIVE_MANAGER",
        "CAMPAIGN_ANALYST",
        "ANALYST",
        "PARTNER_AUDIENCE_MANAGER",
        "TWEET_COMPOSER",
    }
)


@dataclass(frozen=True, kw_only=True)
class SeedEvent:
    """A single-event tag (a conversion event in Events Manager) of a pixel."""

    id: str
    name: str = ""
    type: str = "PURCHASE"
    status: str = "TRACKING"
    click_window: int = 30
    view_through_window: int = 1


@dataclass(frozen=True, kw_only=True)
class SeedPixel:
    """A pixel (base tag / website tag), the `pixel_id` of the Conversion API."""

    id: str
    events: tuple[SeedEvent, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SeedAudience:
    """A custom audience that exists at start (empty membership)."""

    id: str
    name: str
    description: str | None = None


@dataclass(frozen=True, kw_only=True)
class SeedAccount:
    """An ad account with its pixels and custom audiences."""

    id: str
    name: str = ""
    pixels: tuple[SeedPixel, ...] = ()
    audiences: tuple[SeedAudience, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SeedUser:
    """An X user that can own tokens; `permissions` maps account id to X permission values."""

    id: str
    screen_name: str
    permissions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Seed:
    """Everything the sandbox starts with.

    With no `users`, one user (`DEFAULT_USER_ID`) gets ACCOUNT_ADMIN on every account.
    The sandbox's configured access token belongs to the first user.
    """

    accounts: tuple[SeedAccount, ...] = ()
    users: tuple[SeedUser, ...] = ()

    def effective_users(self) -> tuple[SeedUser, ...]:
        if self.users:
            return self.users
        admin = {account.id: ("ACCOUNT_ADMIN",) for account in self.accounts}
        return (SeedUser(id=DEFAULT_USER_ID, screen_name=DEFAULT_SCREEN_NAME, permissions=admin),)


DEFAULT_USER_ID = "1000000001"
DEFAULT_SCREEN_NAME = "sandbox_admin"

DEMO_SEED = Seed(
    accounts=(
        SeedAccount(
            id="18ce552mlaq",
            name="Sandbox demo account",
            pixels=(
                SeedPixel(
                    id="oka17",
                    events=(
                        SeedEvent(id="ol288", name="Purchase", type="PURCHASE"),
                        SeedEvent(id="ol289", name="Sign up", type="SIGN_UP"),
                        SeedEvent(id="ol290", name="Add to cart", type="ADDED_TO_CART"),
                        SeedEvent(id="ol291", name="Checkout", type="CHECKOUT_INITIATED"),
                        SeedEvent(id="ol292", name="Lead", type="LEAD"),
                        SeedEvent(id="ol293", name="Page view", type="PAGE_VIEW"),
                    ),
                ),
            ),
        ),
    ),
)


def load_seed(path: Path) -> Seed:
    """Read a seed from TOML (format in docs/reference/sandbox.md)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read sandbox seed {path}: {exc}") from exc
    return seed_from_mapping(raw, source=str(path))


def seed_from_mapping(raw: Mapping[str, Any], *, source: str = "seed") -> Seed:
    """Build a `Seed` from parsed TOML/JSON; names the bad key on error."""
    try:
        accounts = tuple(_account(a) for a in raw.get("accounts", ()))
        users = tuple(_user(u) for u in raw.get("users", ()))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: invalid sandbox seed ({exc!r})") from exc
    seed = Seed(accounts=accounts, users=users)
    _check(seed, source)
    return seed


def _account(raw: Mapping[str, Any]) -> SeedAccount:
    return SeedAccount(
        id=str(raw["id"]),
        name=str(raw.get("name", "")),
        pixels=tuple(
            SeedPixel(id=str(p["id"]), events=tuple(SeedEvent(**e) for e in p.get("events", ())))
            for p in raw.get("pixels", ())
        ),
        audiences=tuple(SeedAudience(**a) for a in raw.get("audiences", ())),
    )


def _user(raw: Mapping[str, Any]) -> SeedUser:
    permissions = {str(k): tuple(str(p) for p in v) for k, v in raw.get("permissions", {}).items()}
    return SeedUser(id=str(raw["id"]), screen_name=str(raw["screen_name"]), permissions=permissions)


def _check(seed: Seed, source: str) -> None:
    ids: set[str] = set()
    for account in seed.accounts:
        for pixel in account.pixels:
            for item in (pixel.id, *(e.id for e in pixel.events)):
                if item in ids:
                    raise ConfigError(f"{source}: id {item!r} is used twice")
                ids.add(item)
    known = {a.id for a in seed.accounts}
    for user in seed.users:
        for account_id, perms in user.permissions.items():
            if account_id not in known:
                raise ConfigError(f"{source}: user {user.id} names unknown account {account_id}")
            unknown = set(perms) - PERMISSIONS
            if unknown:
                raise ConfigError(f"{source}: unknown permission(s) {sorted(unknown)}")
