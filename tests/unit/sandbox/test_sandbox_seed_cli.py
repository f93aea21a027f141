"""Seeding (dataclasses and TOML), the CLI's pure parts, and the public names."""

from __future__ import annotations

from pathlib import Path

import pytest

import xconduit.sandbox as sandbox_pkg
from xconduit.cli.sandbox import banner, build_sandbox, rate_limit_from_flags
from xconduit.errors import ConfigError
from xconduit.sandbox import RateLimit, Sandbox, SandboxCredentials, load_seed

SEED_TOML = """
[[accounts]]
id = "18ce552mlaq"
name = "Toml shop"

[[accounts.pixels]]
id = "oka17"

[[accounts.pixels.events]]
id = "ol288"
name = "Purchase"
type = "PURCHASE"

[[accounts.audiences]]
id = "1nmth"
name = "vip"

[[users]]
id = "2417045708"
screen_name = "owner"
permissions = { "18ce552mlaq" = ["AD_MANAGER", "TWEET_COMPOSER"] }
"""


def test_load_seed_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "seed.toml"
    path.write_text(SEED_TOML)
    seed = load_seed(path)
    account = seed.accounts[0]
    assert (account.id, account.pixels[0].id, account.pixels[0].events[0].id) == (
        "18ce552mlaq",
        "oka17",
        "ol288",
    )
    assert account.audiences[0].name == "vip"
    assert seed.users[0].permissions == {"18ce552mlaq": ("AD_MANAGER", "TWEET_COMPOSER")}
    sb = Sandbox(seed=seed)
    assert sb.state.access("2417045708", "18ce552mlaq") == ("AD_MANAGER", "TWEET_COMPOSER")
    assert sb.state.user_for_token(sb.credentials.access_token) == "2417045708"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[[accounts]]\nname = 'no id'\n", "invalid sandbox seed"),
        ("[[users]]\nid='1'\nscreen_name='x'\npermissions={nope=['ACCOUNT_ADMIN']}\n", "unknown"),
        (SEED_TOML.replace('"AD_MANAGER"', '"BOSS"'), "unknown permission"),
        (SEED_TOML.replace('id = "ol288"', 'id = "oka17"'), "used twice"),
        ("not toml [", "cannot read"),
    ],
)
def test_bad_seed_is_a_config_error(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "seed.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_seed(path)


def test_no_users_means_one_admin_on_every_account() -> None:
    sb = Sandbox()
    user = sb.state.user_for_token(sb.credentials.access_token)
    assert user is not None
    assert sb.state.access(user, "18ce552mlaq") == ("ACCOUNT_ADMIN",)


@pytest.mark.parametrize(
    ("events", "requests", "expected"),
    [
        (None, None, (60_000, None)),
        (None, 100_000, (None, 100_000)),
        (500, None, (500, None)),
        (500, 20, (500, 20)),
        (0, 20, (None, 20)),
    ],
)
def test_rate_limit_flags(
    events: int | None, requests: int | None, expected: tuple[int | None, int | None]
) -> None:
    limits = rate_limit_from_flags(15.0, events, requests)
    assert (limits.conversion_events, limits.conversion_requests) == expected
    assert limits.window_seconds == 15.0


def test_cli_builds_faults_and_prints_what_a_user_needs() -> None:
    sb = build_sandbox(
        seed=None,
        credentials=SandboxCredentials(consumer_key="ck"),
        rate_limit=RateLimit(),
        faults=["conversions=503:retry-after=2", "*=slow:0.5@0.1"],
    )
    assert sb.faults.describe() == {
        "schedules": {"conversions": ["503:retry-after=2"]},
        "probabilities": {"*": [{"fault": "slow:0.5", "probability": 0.1}]},
    }
    text = banner(sb, "http://127.0.0.1:8090")
    for needle in (
        "ck",
        sb.credentials.access_token_secret,
        "18ce552mlaq",
        "oka17",
        "tw-oka17-ol288",
        "http://127.0.0.1:8090/_sandbox/",
    ):
        assert needle in text


def test_public_names() -> None:
    assert set(sandbox_pkg.__all__) == {
        "DEMO_SEED", "Fault", "FaultInjector", "InProcessTransport", "RateLimit", "Sandbox",
        "SandboxCredentials", "Seed", "SeedAccount", "SeedAudience", "SeedEvent", "SeedPixel",
        "SeedUser", "load_seed", "parse_fault", "serve_sandbox",
    }  # fmt: skip
