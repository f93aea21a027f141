"""@segment/analytics-next in headless Chromium, pointed at the gateway, as a shop's page uses it.

analytics-next posts `text/plain` JSON with the write key in the body to `<apiHost>/t`: a CORS
"simple" request from the shop's origin. The bundle and the Chromium flags are those of the tag's
browser harness (`tests/browser/`); this file only adds a shop page and the real gateway.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from tests.support.gateway_live import (
    WEB_KEY,
    gateway_settings,
    running_gateway,
    serving,
    wait_for_conversions,
)
from xconduit.config import SourceSettings

pytestmark = pytest.mark.browser


from tests.support.tag_harness import CHROMIUM, CHROMIUM_ARGS, GIF, TWQ_SPY, build_ajs_bundle  # noqa: E402


def shop_page(gateway_url: str) -> str:
    host = gateway_url.removeprefix("http://")
    cdn = {
        "integrations": {
            "Segment.io": {"apiKey": WEB_KEY, "apiHost": f"{host}/v1", "protocol": "http"}
        }
    }
    load = {"writeKey": WEB_KEY, "cdnSettings": cdn}
    return (
        "<!doctype html><html><head><title>Shop</title><script src='/ajs.js'></script>"
        "<script>window.ready = (async () => {"
        f"  const [analytics] = await AnalyticsBrowser.load({json.dumps(load)});"
        "  window.analytics = analytics;"
        "})();</script></head><body>shop</body></html>"
    )


@pytest.fixture
def shop_and_gateway(tmp_path: Path) -> Iterator[tuple[str, str]]:
    bundle = build_ajs_bundle()
    page: dict[str, str] = {}

    async def index(_: Request) -> Response:
        return HTMLResponse(page["html"])

    async def with_plugin(_: Request) -> Response:
        return HTMLResponse(page["plugin"])

    async def ajs(_: Request) -> Response:
        return FileResponse(bundle, media_type="application/javascript")

    shop_app = Starlette(
        routes=[Route("/", index), Route("/plugin", with_plugin), Route("/ajs.js", ajs)]
    )
    with serving(shop_app) as shop:
        web = SourceSettings(
            name="web",
            write_keys=[WEB_KEY],
            allowed_origins=[shop],
            client_ip=True,
        )
        settings = gateway_settings(sources=[web])
        with running_gateway(settings, tmp_path, delivery=True) as (_, gateway_url):
            page["html"] = shop_page(gateway_url)
            page["plugin"] = plugin_page(gateway_url)
            yield shop, gateway_url


@pytest.mark.slow
def test_order_completed_from_the_browser_reaches_the_sandbox(
    shop_and_gateway: tuple[str, str],
) -> None:
    from playwright.sync_api import sync_playwright

    shop, gateway_url = shop_and_gateway
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run scripts/test-env")
    answers: list[tuple[int, str, str]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on(
                "response",
                lambda r: (
                    answers.append((r.status, r.url, r.request.headers.get("content-type", "")))
                    if "/v1/" in r.url
                    else None
                ),
            )
            page.goto(shop)
            page.evaluate(
                """async () => { await window.ready; await window.analytics.track(
                    'Order Completed',
                    {order_id: 'browser-1', revenue: 19.99, currency: 'USD',
                     email: 'Browser.Buyer@Example.com'}); }"""
            )
            conversions: list[dict[str, Any]] = wait_for_conversions(gateway_url, 1)
        finally:
            browser.close()
    assert (200, f"{gateway_url}/v1/t", "text/plain") in answers
    [conversion] = conversions
    assert conversion["conversion_id"] == "browser-1"
    assert conversion["event_id"] == "tw-oka17-ol288"

    def identifiers(key: str) -> list[Any]:
        return [i[key] for i in conversion["identifiers"] if key in i]

    assert identifiers("ip_address") == ["127.0.0.1"]  # the web source takes the client's address
    assert len(identifiers("hashed_email")[0]) == 64
    assert "user_agent" in str(conversion["identifiers"])


def plugin_page(gateway_url: str) -> str:
    """analytics.js with the xconduit destination plugin loaded from the gateway."""
    host = gateway_url.removeprefix("http://")
    cdn = {
        "integrations": {
            "Segment.io": {"apiKey": WEB_KEY, "apiHost": f"{host}/v1", "protocol": "http"}
        }
    }
    load = {"writeKey": WEB_KEY, "cdnSettings": cdn}
    plugin = {"collector": gateway_url, "key": WEB_KEY}
    return (
        "<!doctype html><html><head><title>Shop</title><script src='/ajs.js'></script>"
        f"<script src='{gateway_url}/tag/plugin.js'></script>"
        "<script>window.ready = (async () => {"
        f"  const [analytics] = await AnalyticsBrowser.load({json.dumps(load)});"
        f"  await analytics.register(xconduitPlugin({json.dumps(plugin)}));"
        "  window.analytics = analytics;"
        "})();</script></head><body>shop</body></html>"
    )


@pytest.mark.slow
def test_the_plugin_gives_pixel_and_server_the_same_conversion(
    shop_and_gateway: tuple[str, str],
) -> None:
    """Issue 5 through analytics-next: one purchase, one pixel call and one sandbox conversion with
    the same event id and conversion_id; the landing URL's twclid reaches X on the server leg."""
    from playwright.sync_api import sync_playwright

    shop, gateway_url = shop_and_gateway
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_init_script(TWQ_SPY)
            context.route(
                "**/static.ads-twitter.com/**",
                lambda r: r.fulfill(body="", content_type="text/javascript"),
            )
            context.route(
                "**/analytics.twitter.com/**",
                lambda r: r.fulfill(body=GIF, content_type="image/gif"),
            )
            page = context.new_page()
            seen: list[str] = []  # for the failure message: what the page said and fetched
            page.on("console", lambda m: seen.append(f"console {m.type}: {m.text}"))
            page.on("requestfailed", lambda r: seen.append(f"failed {r.url}: {r.failure}"))
            page.on("response", lambda r: seen.append(f"{r.status} {r.url}"))
            page.goto(f"{shop}/plugin?twclid=click-plugin-1")
            page.evaluate(
                """async () => { await window.ready; await window.analytics.track(
                    'Order Completed', {order_id: 'plugin-order-1', revenue: 42, currency: 'USD'}); }"""
            )
            try:
                page.wait_for_function(
                    "() => window.__twq.some(c => c[0] === 'event')", timeout=15_000
                )
            except Exception:
                raise AssertionError("no pixel event; the page saw:\n" + "\n".join(seen)) from None
            calls: list[list[Any]] = page.evaluate("() => window.__twq")
            conversions: list[dict[str, Any]] = wait_for_conversions(gateway_url, 1)
        finally:
            browser.close()
    (pixel,) = [c for c in calls if c[0] == "event"]
    assert pixel[1] == "tw-oka17-ol288"
    assert pixel[2]["conversion_id"] == "plugin-order-1"
    [conversion] = conversions
    assert (conversion["event_id"], conversion["conversion_id"]) == (pixel[1], "plugin-order-1")
    assert {"twclid": "click-plugin-1"} in conversion["identifiers"]
