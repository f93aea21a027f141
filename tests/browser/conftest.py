"""Shared fixtures of the browser tests: one fake gateway and one Chromium for the session. The
tag tests share one page per worker, emptied before each test (TagBrowser); the dashboard tests
get a context each. analytics-next comes from npm (`npm ci` when node_modules is missing) and is
bundled for the page with esbuild, so nothing is fetched from Segment's CDN."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.browser_pages import open_page
from tests.support.tag_harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    FakeGateway,
    TagBrowser,
    TagPage,
    build_ajs_bundle,
    serve,
)

# A loaded machine renders slowly; expect() waits on the condition up to this long.
expect.set_options(timeout=20_000)


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
    gateway.ajs_bundle = build_ajs_bundle()
    return gateway.ajs_bundle


@pytest.fixture(params=["tag", "plugin"])
def driver(request: pytest.FixtureRequest) -> str:
    """`tag`: the page calls window.xconduit; `plugin`: analytics-next with the xconduit plugin."""
    param: str = request.param
    return param


@pytest.fixture(scope="session")
def tag_browser(browser: Browser, gateway: FakeGateway) -> Iterator[TagBrowser]:
    context = browser.new_context()
    yield TagBrowser(context, gateway)
    context.close()


@pytest.fixture
def tag_page(request: pytest.FixtureRequest, driver: str, tag_browser: TagBrowser) -> TagPage:
    """The worker's shared tag page, emptied for this test (see TagBrowser)."""
    if driver == "plugin":
        request.getfixturevalue("ajs_bundle")
    return tag_browser.fresh(driver)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page at 1366×768 (the laptop screen the dashboard is laid out for), in its own context."""
    yield from open_page(browser, 1366, 768)
