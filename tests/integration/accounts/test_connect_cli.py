"""`xconduit connect` against a sandbox on loopback, `x.oauth_host` unset: the OAuth flow goes to
the sandbox at `x.api` (never to X), and a consumer secret the sandbox does not know (its 401,
code 32, at request_token) is named as the likely cause."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from xconduit.accounts.tokens import new_key
from xconduit.sandbox import Sandbox, SandboxCredentials, serve_sandbox


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sb = Sandbox()
    with serve_sandbox(sb) as url:
        yield sb, url


def connect(tmp_path: Path, url: str, consumer_secret: str) -> subprocess.CompletedProcess[str]:
    c = SandboxCredentials()
    config = tmp_path / "xconduit.toml"
    config.write_text(
        f'[server]\nstore = "sqlite:///{tmp_path}/o.db"\n\n'
        f'[x]\napi = "{url}"\nconsumer_key = "{c.consumer_key}"\n'
        f'consumer_secret = "{consumer_secret}"\n'
    )
    return subprocess.run(
        [sys.executable, "-m", "xconduit", "connect", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,  # no PIN: the command stops at the prompt
        env={"PATH": "/usr/bin:/bin", "XCONDUIT_CONNECT__TOKEN_KEY": new_key()},
        check=False,
    )


def test_the_oauth_flow_follows_x_api_to_the_sandbox(
    served: tuple[Sandbox, str], tmp_path: Path
) -> None:
    sb, url = served
    done = connect(tmp_path, url, SandboxCredentials().consumer_secret)
    assert f"{url}/oauth/authorize?oauth_token=" in done.stdout, done.stderr
    assert "api.x.com" not in done.stdout + done.stderr
    assert any(r["path"] == "/oauth/request_token" for r in sb.requests())


def test_a_wrong_consumer_secret_is_named(served: tuple[Sandbox, str], tmp_path: Path) -> None:
    _, url = served
    done = connect(tmp_path, url, "not-the-consumer-secret")
    assert done.returncode == 2
    assert "Could not authenticate you" in done.stderr  # X's own words, kept
    assert "x.consumer_key / x.consumer_secret are likely wrong" in done.stderr
    assert "not-the-consumer-secret" not in done.stdout + done.stderr
