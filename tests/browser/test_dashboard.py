"""The dashboard in Chromium, on a real gateway delivering to the sandbox over loopback.

Known traffic (delivered, filtered, invalid, a dead letter, a duplicate) shows the same numbers
on the page as in the store; a dead letter replayed from the page is delivered once its cause is
fixed; no page ever shows a raw email or phone number. Screenshots go to docs/img/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from playwright.sync_api import Browser, Page
from playwright.sync_api import Error as PlaywrightError

from tests.support.ops_traffic import (
    EMAILS,
    EXPECTED,
    PHONE,
    config_text,
    send_known_traffic,
    wait_for,
)
from xconduit.app import Gateway, build_gateway
from xconduit.config import Settings, load_settings
from xconduit.queue import JobStatus
from xconduit.queue.counts import CountingStore
from xconduit.queue.memory import MemoryStore
from xconduit.sandbox import Sandbox, SeedEvent, serve_sandbox
from xconduit.serving import serve_in_thread

# The docs' screenshots are refreshed with XCONDUIT_SCREENSHOTS=1 (not on every run: the repository
# stays clean); otherwise they go to the test's temporary folder.
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
PAGES = {
    "overview": "/",
    "debugger": "/dashboard/debugger",
    "dead-letters": "/dashboard/dead",
    "connection": "/dashboard/connection",
}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Sandbox, Gateway, str]]:
    sandbox = Sandbox()
    with serve_sandbox(sandbox) as x_url:
        config = tmp_path / "xconduit.toml"
        config.write_text(config_text(x_url, tmp_path / "outbox.db"))
        gateway = build_gateway(load_settings(config))
        gateway.start()
        try:
            with serve_in_thread(gateway.app) as url:
                yield sandbox, gateway, url
        finally:
            gateway.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def shown(page: Page, metric: str) -> float:
    text = page.locator(f'[data-metric="{metric}"]').inner_text()
    return float(text.replace(",", "").rstrip("%"))


def settled(gateway: Gateway, expected: int) -> bool:
    """Every job delivered or dead, and counted: the counters follow the state change in a
    transaction of their own, so a busy machine can show the one before the other."""
    states = gateway.store.counts().get("shop", {})
    counted = sum(
        row.value
        for row in cast(CountingStore, gateway.store).counter_totals()
        if row.name in ("conversions_delivered", "conversions_dead")
        and row.labels.get("destination") == "shop"
    )
    done = states.get(JobStatus.DELIVERED, 0) + states.get(JobStatus.DEAD, 0)
    return done == counted == expected


def assert_no_personal_data(html: str) -> None:
    for email in EMAILS:
        assert email not in html
    assert "not-an-email" not in html
    assert re.sub(r"\D", "", PHONE) not in re.sub(r"[ ()+-]", "", html)


def test_dashboard_shows_the_store_replays_and_leaks_nothing(
    live: tuple[Sandbox, Gateway, str], page: Page, tmp_path: Path
) -> None:
    sandbox, gateway, url = live
    shots = DOCS_IMG if os.environ.get("XCONDUIT_SCREENSHOTS") else tmp_path
    send_known_traffic(url)
    wait_for(lambda: settled(gateway, EXPECTED["queued"]), "delivery")
    store = gateway.store
    counters = cast(CountingStore, store)  # every store keeps the counters too
    totals = {(r.name, tuple(sorted(r.labels.items()))): r.value for r in counters.counter_totals()}
    shop = (("destination", "shop"),)

    page.goto(url + "/")
    for key in ("received", "filtered", "invalid", "delivered", "dead"):
        assert shown(page, f"shop.day.{key}") == EXPECTED[key], key
        assert shown(page, f"shop.hour.{key}") == EXPECTED[key], key
    for key in ("filtered", "invalid", "delivered", "dead"):
        counter = f"conversions_{key}"
        stored = sum(v for (n, labels), v in totals.items() if n == counter and shop[0] in labels)
        assert shown(page, f"shop.day.{key}") == stored
    assert shown(page, "shop.now.dead") == store.counts()["shop"][JobStatus.DEAD]
    assert shown(page, "shop.match.delivered") == 3
    assert shown(page, "shop.match.email") == 67  # ops-3's email was dropped
    assert shown(page, "shop.match.phone") == 67  # 2 of 3
    assert shown(page, "shop.dropped.email") == EXPECTED["dropped_email"]
    assert (
        shown(page, "18ce552mlaq.budget.used")
        == totals[("x_conversions_sent", (("account", "18ce552mlaq"),))]
    )
    assert page.locator("svg[role=img]").count() == 1

    # The debugger's rows of a burst are written up to RECENT_EVERY after its last commit.
    wait_for(lambda: len(store.recent_events(limit=1000)) == EXPECTED["received"], "debugger")
    page.goto(url + "/dashboard/debugger")
    assert page.locator("tr.debug-line").count() == EXPECTED["received"]
    # A field left out of a conversion is named with its rule in the event's entry.
    ops_3 = page.locator("tr.debug-line", has_text="ops-3").inner_text()
    assert "dropped email (not an email address)" in ops_3
    page.select_option("select[name=outcome]", "dead")
    page.click("#filters button")
    assert page.locator("tr.debug-line").count() == 1
    dead_line = page.locator("tr.debug-line").inner_text()
    assert "ops-7" in dead_line
    assert re.search(r'"hashed_email": "[0-9a-f]{64}"', dead_line)
    page.select_option("select[name=outcome]", "")
    page.fill("input[name=event]", "Product Viewed")
    page.click("#filters button")
    assert page.locator("tr.debug-line").count() == 1
    assert page.locator("tr.debug-line").get_attribute("data-outcome") == "filtered"
    assert "ops-4" in page.locator("tr.debug-line").inner_text()

    html_of = {}
    for name, path in PAGES.items():
        page.goto(url + path)
        html_of[name] = page.content()
        page.screenshot(path=str(shots / f"dashboard-{name}.png"), full_page=True)
        assert_no_personal_data(html_of[name])
    assert "✗" in html_of["connection"]  # the unknown event id fails its check
    assert "ol999" in html_of["connection"]

    # The cause is fixed in Events Manager; the dead letter is replayed from the page.
    sandbox.create_event("oka17", SeedEvent(id="ol999", name="Broken Thing"))
    page.goto(url + "/dashboard/dead")
    assert page.locator("tr.dead-letter").count() == 1
    assert "NOT_FOUND" in page.locator("tr.dead-letter").inner_text()
    page.click("tr.dead-letter button:text('Replay')")
    assert "replayed 1 dead letter(s)" in page.locator("#notice").inner_text()
    wait_for(lambda: store.counts()["shop"] == {JobStatus.DELIVERED: 4}, "the replayed one")
    assert "order-7" in {c["conversion_id"] for c in sandbox.conversions()}
    page.goto(url + "/")
    assert shown(page, "shop.day.delivered") == 4
    assert shown(page, "shop.now.dead") == 0
    page.goto(url + "/dashboard/connection")
    page.click("button:text('Run the checks now')")
    assert "✗" not in page.locator("#checks").inner_text()
    assert_no_personal_data(page.content())


def test_on_a_non_loopback_address_chromium_needs_the_admin_token(
    browser: Browser, tmp_path: Path
) -> None:
    settings = Settings.model_validate(
        {"server": {"listen": "0.0.0.0:0"}, "dashboard": {"admin_token": "tok-3141"}}
    )
    gateway = build_gateway(settings, delivery=False, store=MemoryStore())
    with serve_in_thread(gateway.app, host="0.0.0.0") as url:
        url = url.replace("0.0.0.0", "127.0.0.1")
        anonymous = browser.new_context()
        try:
            assert anonymous.request.get(url + "/").status == 401
            # Chromium itself, asked for credentials it does not have, shows nothing.
            with pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS"):
                anonymous.new_page().goto(url + "/")
        finally:
            anonymous.close()
        admin = browser.new_context(http_credentials={"username": "admin", "password": "tok-3141"})
        try:
            page = admin.new_page()
            answer = page.goto(url + "/")
            assert answer is not None
            assert answer.status == 200
            assert "Overview" in page.inner_text("h1")
        finally:
            admin.close()
