"""In Chromium: a page of another origin cannot change the demo's `/_sandbox/`; the gateway's own
page can. The gateway is the real one (demo settings, the built-in sandbox), on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from xconduit.app import build_gateway
from xconduit.config import demo_settings
from xconduit.serving import serve_in_thread

# What a foreign page can send without CORS' permission: "simple" requests, their answers opaque.
ATTACKS = """async (gateway) => {
  const post = (path, body) => fetch(gateway + path, {method: "POST", mode: "no-cors", body});
  await post("/_sandbox/reset");
  await post("/_sandbox/faults", '{"clear": true}');
  const form = Object.assign(document.createElement("form"), {
    method: "POST", action: gateway + "/_sandbox/reset", target: "sink"});
  const sink = Object.assign(document.createElement("iframe"), {name: "sink"});
  document.body.append(sink, form);
  const loaded = new Promise((done) => sink.addEventListener("load", done));
  form.submit();
  await loaded;
}"""


@pytest.fixture
def gateway_url(tmp_path: Path) -> Iterator[str]:
    gateway = build_gateway(demo_settings(), workdir=tmp_path, delivery=False)
    gateway.start()
    try:
        with serve_in_thread(gateway.app, name="browser-gateway") as url:
            yield url
    finally:
        gateway.stop()


@pytest.fixture
def foreign_url() -> Iterator[str]:
    async def page(request: Any) -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>another site</title><body></body>")

    with serve_in_thread(Starlette(routes=[Route("/", page)]), name="foreign-page") as url:
        yield url


def scheduled(gateway_url: str) -> dict[str, Any]:
    described: dict[str, Any] = httpx.get(f"{gateway_url}/_sandbox/faults").json()["data"]
    schedules: dict[str, Any] = described["schedules"]
    return schedules


def schedule_a_fault(gateway_url: str) -> None:
    body = {"schedule": {"conversions": ["503"]}}
    assert httpx.post(f"{gateway_url}/_sandbox/faults", json=body).status_code == 200


def test_a_page_of_another_origin_cannot_reset_the_demo(
    browser: Browser, gateway_url: str, foreign_url: str
) -> None:
    schedule_a_fault(gateway_url)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(foreign_url)
        page.evaluate(ATTACKS, gateway_url)
    finally:
        context.close()
    assert scheduled(gateway_url) == {"conversions": ["503"]}  # neither reset nor cleared


def test_the_gateway_s_own_page_can(browser: Browser, gateway_url: str) -> None:
    schedule_a_fault(gateway_url)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{gateway_url}/_sandbox/")
        status = page.evaluate(
            """async () => (await fetch("/_sandbox/faults",
                {method: "POST", body: '{"clear": true}'})).status"""
        )
    finally:
        context.close()
    assert status == 200
    assert scheduled(gateway_url) == {}
