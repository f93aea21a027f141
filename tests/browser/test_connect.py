"""Connecting an X account through the sandbox's authorize page: from the dashboard (three-legged
OAuth, Chromium clicks "Authorize app") and in the terminal (`xconduit connect`, the PIN flow).
The token is stored encrypted, delivery and `xconduit check` use it, disconnect forgets it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.ops_traffic import WRITE_KEY, wait_for
from xconduit.accounts.tokens import SECRET_NAME, new_key
from xconduit.app import build_gateway
from xconduit.config import load_settings
from xconduit.outbox.sqlite import SqliteStore
from xconduit.sandbox import Sandbox, serve_sandbox
from xconduit.sandbox.credentials import SandboxCredentials
from xconduit.serving import serve_in_thread

KEY = new_key()


def config_without_token(x_url: str, store: Path) -> str:
    c = SandboxCredentials()
    return f"""
[server]
store = "sqlite:///{store}"

[x]
api = "{x_url}"
oauth_host = "{x_url}"
consumer_key = "{c.consumer_key}"
consumer_secret = "{c.consumer_secret}"

[connect]
token_key = "{KEY}"

[delivery]
batch_age = "0.2s"

[[sources]]
name = "web"
write_keys = ["{WRITE_KEY}"]

[[conversions]]
name = "shop"
account_id = "18ce552mlaq"
pixel_id = "oka17"
events = {{ "Order Completed" = "ol288" }}
"""


@pytest.fixture
def sandbox() -> Iterator[tuple[Sandbox, str]]:
    sb = Sandbox()
    with serve_sandbox(sb) as url:
        yield sb, url


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def stored_blob(db: Path) -> bytes | None:
    store = SqliteStore(db)
    try:
        return store.get_secret(SECRET_NAME)
    finally:
        store.close()


def test_connect_from_the_dashboard(
    sandbox: tuple[Sandbox, str], page: Page, tmp_path: Path
) -> None:
    sb, x_url = sandbox
    config = tmp_path / "x.toml"
    config.write_text(config_without_token(x_url, tmp_path / "o.db"))
    gateway = build_gateway(load_settings(config))
    gateway.start()
    try:
        with serve_in_thread(gateway.app) as url:
            page.goto(url + "/dashboard/connection")
            assert "none: connect an X account" in page.inner_text("#token")
            # The button: the banner's fix also says "Connect X account on the dashboard".
            page.get_by_role("button", name="Connect X account").click()
            page.wait_for_url(x_url + "/oauth/authorize*")
            page.click("button:text('Authorize app')")
            page.wait_for_url(url + "/dashboard/connection*")
            assert "connected as @sandbox_admin" in page.inner_text("#notice")
            assert "connected as @sandbox_admin" in page.inner_text("#token")
            assert "✗" not in page.inner_text("#checks")  # the checks ran with the new token

            blob = gateway.store.get_secret(SECRET_NAME)
            stored = gateway.ops.vault.load()  # type: ignore[union-attr]
            assert blob is not None
            assert stored is not None
            assert stored.token.encode() not in blob
            assert stored.secret.encode() not in blob

            event = {
                "type": "track",
                "event": "Order Completed",
                "userId": "u1",
                "properties": {"order_id": "c-1", "email": "ann@example.com"},
            }
            answer = httpx.post(url + "/v1/track", json=event, auth=(WRITE_KEY, ""))
            assert answer.status_code == 200
            wait_for(lambda: len(sb.conversions()) == 1, "delivery with the stored token")

            page.click("button:text('Disconnect')")
            expect(page.locator("#notice")).to_contain_text("disconnected")
            assert "none: connect an X account" in page.inner_text("#token")
            assert gateway.store.get_secret(SECRET_NAME) is None
    finally:
        gateway.stop()


def xconduit(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "xconduit", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "300"},
    )


def test_connect_in_the_terminal_with_a_pin(
    sandbox: tuple[Sandbox, str], page: Page, tmp_path: Path
) -> None:
    _, x_url = sandbox
    config = tmp_path / "x.toml"
    config.write_text(config_without_token(x_url, tmp_path / "o.db"))

    connect = xconduit("connect", "--config", str(config))
    assert connect.stdout is not None
    assert connect.stdin is not None
    lines: list[str] = []
    while not any("/oauth/authorize" in line for line in lines):
        line = connect.stdout.readline()
        assert line, "".join(lines)
        lines.append(line)
    authorize = next(line for line in lines if "/oauth/authorize" in line).strip()
    page.goto(authorize)
    page.click("button:text('Authorize app')")
    pin = page.inner_text("#pin").strip()
    out, _ = connect.communicate(pin + "\n", timeout=60)
    assert connect.returncode == 0, "".join(lines) + out
    assert "connected as @sandbox_admin" in out
    assert stored_blob(tmp_path / "o.db") is not None

    check = subprocess.run(
        [sys.executable, "-m", "xconduit", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "300"},
    )
    assert check.returncode == 0, check.stdout + check.stderr

    gone = subprocess.run(
        [sys.executable, "-m", "xconduit", "connect", "--disconnect", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "disconnected" in gone.stdout
    assert stored_blob(tmp_path / "o.db") is None
    check = subprocess.run(
        [sys.executable, "-m", "xconduit", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "300"},
    )
    assert check.returncode == 1
    assert "xconduit connect" in check.stdout


def test_without_a_key_nothing_is_stored_and_it_says_how(
    sandbox: tuple[Sandbox, str], tmp_path: Path
) -> None:
    _, x_url = sandbox
    config = tmp_path / "x.toml"
    config.write_text(
        config_without_token(x_url, tmp_path / "o.db").replace(f'token_key = "{KEY}"', "")
    )
    done = subprocess.run(
        [sys.executable, "-m", "xconduit", "connect", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        input="",
    )
    assert done.returncode == 2
    assert "XCONDUIT_CONNECT__TOKEN_KEY" in done.stderr
    assert "xconduit connect --new-key" in done.stderr
