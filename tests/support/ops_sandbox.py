"""A sandbox seeded for the operations tests, and the configuration that points at it."""

from __future__ import annotations

from pathlib import Path

from xconduit.sandbox import (
    Sandbox,
    Seed,
    SeedAccount,
    SeedAudience,
    SeedEvent,
    SeedPixel,
    SeedUser,
)
from xconduit.sandbox.credentials import SandboxCredentials

GOOD_ACCOUNT = "18ce552mlaq"
GOOD_PIXEL = "oka17"
ANALYST_ACCOUNT = "18ce54d4x5t"
ANALYST_PIXEL = "o9xk2"
USER_ID = "2417045708"
AUDIENCE = "1nmth"

SEED = Seed(
    accounts=(
        SeedAccount(
            id=GOOD_ACCOUNT,
            pixels=(
                SeedPixel(
                    id=GOOD_PIXEL,
                    events=(SeedEvent(id="ol288", name="Purchase"), SeedEvent(id="ol289")),
                ),
                SeedPixel(id="p0th3", events=(SeedEvent(id="ol300", name="Other pixel's"),)),
            ),
            audiences=(SeedAudience(id=AUDIENCE, name="VIP buyers"),),
        ),
        SeedAccount(
            id=ANALYST_ACCOUNT,
            pixels=(SeedPixel(id=ANALYST_PIXEL, events=(SeedEvent(id="ol400"),)),),
        ),
    ),
    users=(
        SeedUser(
            id=USER_ID,
            screen_name="ops_user",
            permissions={
                GOOD_ACCOUNT: ("AD_MANAGER",),
                ANALYST_ACCOUNT: ("CAMPAIGN_ANALYST", "TWEET_COMPOSER"),
            },
        ),
    ),
)


def seeded_sandbox() -> Sandbox:
    return Sandbox(seed=SEED)


def config_text(
    base_url: str,
    store: Path,
    credentials: SandboxCredentials | None,
    *,
    conversions: str,
    extra: str = "",
) -> str:
    """A configuration for a sandbox served at `base_url`; without `credentials` no token."""
    c = credentials or SandboxCredentials()
    token = (
        f'access_token = "{c.access_token}"\naccess_token_secret = "{c.access_token_secret}"\n'
        if credentials
        else ""
    )
    return (
        f'[server]\nstore = "sqlite:///{store}"\n\n'
        f'[x]\napi = "{base_url}"\noauth_host = "{base_url}"\n'
        f'consumer_key = "{c.consumer_key}"\nconsumer_secret = "{c.consumer_secret}"\n{token}\n'
        '[[sources]]\nname = "web"\nwrite_keys = ["wk-ops-test"]\n\n'
        f"{conversions}\n{extra}"
    )
