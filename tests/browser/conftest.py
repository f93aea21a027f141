"""Shared fixtures of the browser tests: one fake gateway and one Chromium for the session, a new
browser context per test. analytics-next comes from npm (`npm ci` when node_modules is missing)
and is bundled for the page with esbuild, so nothing is fetched from Segment's CDN."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright
from tag_harness import FakeGateway, TagPage, serve

HERE = Path(__file__).parent
CHROMIUM = os.environ.get("XCONDUIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def gateway() -> Iterator[FakeGateway]:
    fake = FakeGateway()
    stop = serve(fake)
    yield fake
    stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run scripts/test-env")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def ajs_bundle(gateway: FakeGateway) -> Path:
    """analytics-next as one script for the page (window.AnalyticsBrowser)."""
    modules = HERE / "node_modules"
    if not (modules / "@segment" / "analytics-next").exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed for the analytics-next tests (apt-get install npm)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    out = modules / ".xconduit" / "ajs.js"
    lock = HERE / "package-lock.json"
    entry = HERE / "ajs_entry.js"
    if not out.exists() or out.stat().st_mtime < max(lock.stat().st_mtime, entry.stat().st_mtime):
        esbuild = modules / ".bin" / "esbuild"
        cmd = [
            str(esbuild),
            str(entry),
            "--bundle",
            "--format=iife",
            "--minify",
            f"--outfile={out}",
        ]
        subprocess.run(cmd, cwd=HERE, check=True, capture_output=True)
    gateway.ajs_bundle = out
    return out


@pytest.fixture(params=["tag", "plugin"])
def driver(request: pytest.FixtureRequest) -> str:
    """`tag`: the page calls window.xconduit; `plugin`: analytics-next with the xconduit plugin."""
    param: str = request.param
    return param


@pytest.fixture
def tag_page(
    request: pytest.FixtureRequest, driver: str, browser: Browser, gateway: FakeGateway
) -> Iterator[TagPage]:
    if driver == "plugin":
        request.getfixturevalue("ajs_bundle")
    context = browser.new_context()
    try:
        yield TagPage(context, gateway, driver)
    finally:
        context.close()
