"""Issue 5 end to end: the example shop page (docs/examples/shop.html, which records the pixel
calls it shows in the console), the real tag served by the gateway, Chromium, the in-process sandbox. A purchase gives one pixel call and one sandbox conversion with the same
event id and the same conversion_id, so X counts it once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.staticfiles import StaticFiles

from tests.support.gateway_live import (
    gateway_settings,
    running_gateway,
    serving,
    wait_for_conversions,
)
from tests.support.tag_harness import CHROMIUM, CHROMIUM_ARGS, GIF
from xconduit.config import SourceSettings
from xconduit.config.demo import DEMO_EVENTS, DEMO_PIXEL_ID

EXAMPLES = Path(__file__).parents[3] / "docs" / "examples"
BROWSER_KEY = "wk_shop_browser"

pytestmark = pytest.mark.browser


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(gateway URL, shop page origin): a gateway whose browser source accepts any origin."""
    settings = gateway_settings(
        sources=[SourceSettings(name="web", write_keys=[BROWSER_KEY], allowed_origins=["*"])]
    )
    site = Starlette()
    site.mount("/", StaticFiles(directory=EXAMPLES, html=True))
    with (
        running_gateway(settings, tmp_path, delivery=True) as (_, gateway),
        serving(site) as origin,
    ):
        yield gateway, origin


def purchase_at_x(gateway: str, conversion_id: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The sandbox's conversions with this id, once there (the page view's may come first)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [
            c for c in wait_for_conversions(gateway, 1) if c.get("conversion_id") == conversion_id
        ]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.mark.slow
def test_a_purchase_on_the_example_shop_is_one_conversion_on_both_legs(
    shop: tuple[str, str],
) -> None:
    from playwright.sync_api import sync_playwright

    gateway, origin = shop
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.route(
                "**/static.ads-twitter.com/**",
                lambda r: r.fulfill(body="", content_type="text/javascript"),
            )
            context.route(
                "**/analytics.twitter.com/**",
                lambda r: r.fulfill(body=GIF, content_type="image/gif"),
            )
            page = context.new_page()
            console: list[str] = []
            page.on("console", lambda m: console.append(m.text))
            page.goto(f"{origin}/shop.html?gateway={gateway}&key={BROWSER_KEY}&twclid=click-e2e-1")
            page.wait_for_function("() => window.pixelCalls.some(c => c[0] === 'config')")
            page.get_by_role("button", name="Add to cart").first.click()
            page.click("#order")
            page.wait_for_function(
                "() => window.pixelCalls.some(c => c[0] === 'event' && c[2] && c[2].conversion_id && c[2].conversion_id.startsWith('order-'))"
            )
            calls: list[list[Any]] = page.evaluate("() => window.pixelCalls")
        finally:
            browser.close()

    assert ["config", DEMO_PIXEL_ID] in calls
    purchase_id = DEMO_EVENTS["Order Completed"]
    (pixel,) = [c for c in calls if c[0] == "event" and c[1] == purchase_id]
    conversion_id = pixel[2]["conversion_id"]
    assert conversion_id.startswith("order-")
    assert any("[X pixel]" in line for line in console), (
        "the how-to promises pixel calls in the console"
    )

    (server,) = purchase_at_x(gateway, conversion_id)
    assert server["event_id"] == purchase_id
    assert server["pixel_id"] == DEMO_PIXEL_ID
    assert {"twclid": "click-e2e-1"} in server["identifiers"]
    # The tag's events are browser traffic: the visitor's address is used, though the source
    # does not set `client_ip`.
    assert [i["ip_address"] for i in server["identifiers"] if "ip_address" in i] == ["127.0.0.1"]
    assert server["value"] == f"{pixel[2]['value']:.2f}"


@pytest.mark.slow
def test_an_order_without_consent_is_never_silent(shop: tuple[str, str]) -> None:
    # The how-to's shop starts with consent given; a visitor who unticks it must be told that
    # the order will not reach X, not left to wonder where it went.
    from playwright.sync_api import expect, sync_playwright

    gateway, origin = shop
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.route("**/static.ads-twitter.com/**", lambda r: r.fulfill(body=""))
            page = context.new_page()
            page.goto(f"{origin}/shop.html?gateway={gateway}&key={BROWSER_KEY}")
            expect(page.locator("#consent")).to_be_checked()  # as the how-to says
            page.uncheck("#consent")
            page.get_by_role("button", name="Add to cart").first.click()
            page.click("#order")
            expect(page.locator("#log")).to_contain_text("WITHOUT advertising consent")
            calls: list[list[Any]] = page.evaluate("() => window.pixelCalls")
        finally:
            browser.close()
    assert not [c for c in calls if c[0] == "event"], calls
