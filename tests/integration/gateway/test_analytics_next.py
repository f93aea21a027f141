"""@segment/analytics-next in headless Chromium, pointed at the gateway, as a shop's page uses it.

analytics-next posts `text/plain` JSON with the write key in the body to `<apiHost>/t`: a CORS
"simple" request from the shop's origin. The bundle and the Chromium flags are those of the tag's
browser harness (`tests/browser/`); this file only adds a shop page and the real gateway.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gateway_live import WEB_KEY, gateway_settings, running_gateway, serving
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from conftest import wait_for_conversions
from xconduit.config import SourceSettings

pytestmark = pytest.mark.browser

BROWSER_TESTS = Path(__file__).parents[2] / "browser"
CHROMIUM = os.environ.get("XCONDUIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def ajs_bundle() -> Path:
    """analytics-next as one script, built like tests/browser/conftest.py builds it."""
    modules = BROWSER_TESTS / "node_modules"
    out = modules / ".xconduit" / "ajs.js"
    if out.exists():
        return out
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed for the analytics-next tests (apt-get install npm)")
    if not (modules / "@segment" / "analytics-next").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=BROWSER_TESTS, check=True)
    esbuild = modules / ".bin" / "esbuild"
    entry = BROWSER_TESTS / "ajs_entry.js"
    cmd = [str(esbuild), str(entry), "--bundle", "--format=iife", "--minify", f"--outfile={out}"]
    subprocess.run(cmd, cwd=BROWSER_TESTS, check=True, capture_output=True)
    return out


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
    bundle = ajs_bundle()
    page: dict[str, str] = {}

    async def index(_: Request) -> Response:
        return HTMLResponse(page["html"])

    async def ajs(_: Request) -> Response:
        return FileResponse(bundle, media_type="application/javascript")

    shop_app = Starlette(routes=[Route("/", index), Route("/ajs.js", ajs)])
    with serving(shop_app) as shop:
        web = SourceSettings(
            name="web",
            write_keys=[WEB_KEY],  # type: ignore[list-item]
            allowed_origins=[shop],
            client_ip=True,
        )
        settings = gateway_settings(sources=[web])
        with running_gateway(settings, tmp_path, delivery=True) as (_, gateway_url):
            page["html"] = shop_page(gateway_url)
            yield shop, gateway_url


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
    assert conversion["event_id"] == "tw-o8z6j-o87ne"

    def identifiers(key: str) -> list[Any]:
        return [i[key] for i in conversion["identifiers"] if key in i]

    assert identifiers("ip_address") == ["127.0.0.1"]  # the web source takes the client's address
    assert len(identifiers("hashed_email")[0]) == 64
    assert "user_agent" in str(conversion["identifiers"])
