"""`xconduit check` against a sandbox seeded with a user lacking the role, a missing event and a
wrong pixel: each ✗ comes with its fix and the command exits 1; a right setup exits 0."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ops_sandbox import (
    ANALYST_ACCOUNT,
    ANALYST_PIXEL,
    AUDIENCE,
    GOOD_ACCOUNT,
    GOOD_PIXEL,
    USER_ID,
    config_text,
    seeded_sandbox,
)
from xconduit.sandbox import Sandbox, serve_sandbox

GOOD = f"""
[[conversions]]
name = "shop"
account_id = "{GOOD_ACCOUNT}"
pixel_id = "{GOOD_PIXEL}"
events = {{ "Order Completed" = "tw-{GOOD_PIXEL}-ol288" }}
"""
BAD = f"""
[[conversions]]
name = "shop"
account_id = "{GOOD_ACCOUNT}"
pixel_id = "{GOOD_PIXEL}"
events = {{ "Order Completed" = "ol288", "Signed Up" = "ol777", "Other" = "ol300" }}

[[conversions]]
name = "typo"
account_id = "{GOOD_ACCOUNT}"
pixel_id = "wr0ng"

[[conversions]]
name = "analyst"
account_id = "{ANALYST_ACCOUNT}"
pixel_id = "{ANALYST_PIXEL}"
"""


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sb = seeded_sandbox()
    with serve_sandbox(sb) as url:
        yield sb, url


def check(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xconduit", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "400", "PATH": "/usr/bin:/bin"},
        check=False,
    )


def rows(output: str) -> list[str]:
    return [" ".join(line.split()) for line in output.splitlines() if line.startswith("│")]


def row(output: str, *parts: str) -> str:
    found = [r for r in rows(output) if all(p in r for p in parts)]
    assert len(found) == 1, (parts, output)
    return found[0]


def test_a_right_setup_passes(served: tuple[Sandbox, str], tmp_path: Path) -> None:
    sb, url = served
    config = tmp_path / "x.toml"
    config.write_text(
        config_text(url, tmp_path / "o.db", sb.issue_token(USER_ID), conversions=GOOD)
    )
    done = check(config)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✗" not in done.stdout
    assert "All 4 checks passed" in done.stdout


def test_each_failure_is_named_with_its_fix(served: tuple[Sandbox, str], tmp_path: Path) -> None:
    sb, url = served
    config = tmp_path / "x.toml"
    config.write_text(config_text(url, tmp_path / "o.db", sb.issue_token(USER_ID), conversions=BAD))
    done = check(config)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr

    assert row(out, f"account {GOOD_ACCOUNT}", "role").startswith("│ ✓")
    role = row(out, f"account {ANALYST_ACCOUNT}", "role")
    assert role.startswith("│ ✗")
    assert "CAMPAIGN_ANALYST" in role
    assert f"ACCOUNT_ADMIN of account {ANALYST_ACCOUNT} can grant AD_MANAGER" in role
    assert row(out, 'conversion destination "analyst"', "pixel").startswith("│ –")

    assert row(out, 'conversion destination "shop"', "(tw-oka17-ol288)").startswith("│ ✓")
    missing = row(out, 'conversion destination "shop"', "(tw-oka17-ol777)")
    assert missing.startswith("│ ✗")
    assert 'fix conversion destination "shop": events["Signed Up"]' in missing
    assert "tw-oka17-ol288" in missing  # the events that do exist are listed
    other = row(out, 'conversion destination "shop"', "(tw-oka17-ol300)")
    assert "belongs to pixel p0th3, not oka17" in other

    pixel = row(out, 'conversion destination "typo"', "pixel wr0ng")
    assert pixel.startswith("│ ✗")
    assert 'set conversion destination "typo": pixel_id' in pixel
    assert "oka17, p0th3" in pixel
    assert "4 check(s) failed" in out


def audience(name: str, account: str, audience_id: str) -> str:
    return (
        f'[[audiences]]\nname = "{name}"\naccount_id = "{account}"\n'
        f'audience_id = "{audience_id}"\nidentifiers = {{ email = "email" }}\n'
    )


def test_each_configured_audience_is_checked(served: tuple[Sandbox, str], tmp_path: Path) -> None:
    sb, url = served
    audiences = "\n".join(
        [
            audience("vip", GOOD_ACCOUNT, AUDIENCE),
            audience("gone", GOOD_ACCOUNT, "zz9zz"),
            audience("fresh", GOOD_ACCOUNT, ""),
            audience("theirs", ANALYST_ACCOUNT, "aa1aa"),
        ]
    )
    config = tmp_path / "x.toml"
    config.write_text(
        config_text(
            url, tmp_path / "o.db", sb.issue_token(USER_ID), conversions=GOOD, extra=audiences
        )
    )
    done = check(config)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert row(out, 'audience "vip"', f"audience {AUDIENCE}").startswith("│ ✓")
    assert "VIP buyers" in row(out, 'audience "vip"')
    gone = row(out, 'audience "gone"', "audience zz9zz")
    assert gone.startswith("│ ✗")
    assert 'audience "gone": audience_id' in gone
    assert row(out, 'audience "fresh"', "audience (new)").startswith("│ ✓")
    assert row(out, 'audience "theirs"', "audience aa1aa").startswith("│ –")
    assert row(out, f"account {ANALYST_ACCOUNT}", "role").startswith("│ ✗")
    assert "2 check(s) failed" in out


def test_a_refused_token_is_a_credentials_failure(
    served: tuple[Sandbox, str], tmp_path: Path
) -> None:
    _, url = served
    config = tmp_path / "x.toml"
    text = config_text(url, tmp_path / "o.db", None, conversions=GOOD)
    config.write_text(
        text.replace("[x]\n", '[x]\naccess_token = "1-nope"\naccess_token_secret = "nope"\n')
    )
    done = check(config)
    assert done.returncode == 1
    credentials = row(done.stdout, f"account {GOOD_ACCOUNT}", "credentials")
    assert credentials.startswith("│ ✗")
    assert "401" in credentials
    assert "xconduit connect" in credentials
    assert "x.consumer_key/x.consumer_secret" in credentials  # the other likely cause


def test_the_built_in_sandbox_checks_nothing_against_x(tmp_path: Path) -> None:
    # The built-in sandbox is seeded from this file: a pixel that exists nowhere "exists" there.
    config = tmp_path / "x.toml"
    config.write_text(
        f'[server]\nstore = "sqlite:///{tmp_path}/o.db"\n\n'
        '[[conversions]]\nname = "shop"\naccount_id = "18ce552mlaq"\npixel_id = "zzzzz"\n'
        'events = { "Order Completed" = "zz999" }\n'
    )
    done = check(config)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "✓" not in out
    assert row(out, 'conversion destination "shop"', "pixel zzzzz").startswith("│ ◐")
    assert "not checked against X" in row(out, 'conversion destination "shop"', "pixel zzzzz")
    assert 'x.api = "sandbox": nothing was checked against X' in " ".join(out.split())
    assert "checks passed" not in out
