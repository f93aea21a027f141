"""The dashboard in Chromium, on a real gateway delivering to the sandbox over loopback.

Known traffic (delivered, filtered, invalid, one held by an event id X does not know, a
duplicate) shows the same numbers on the page as in the store; the held one is delivered once
its cause is fixed and the checks are run from the page; no page ever shows a raw email or phone
number; a hostile page (another loopback origin, or a DNS-rebinding one) reads and changes
nothing. Screenshots go to docs/img/.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.support.browser_pages import open_page, shown
from tests.support.ops_traffic import (
    EMAILS,
    EXPECTED,
    PHONE,
    WRITE_KEY,
    config_text,
    send_known_traffic,
    wait_for,
)
from tests.support.tag_harness import CHROMIUM, CHROMIUM_ARGS
from xconduit.app import Gateway, build_gateway
from xconduit.config import Settings, load_settings
from xconduit.config.identity import owner_keys
from xconduit.observability.metered import CountSink, MeteredStore
from xconduit.outbox import JobStatus
from xconduit.outbox.counts import CountingStore
from xconduit.outbox.memory import MemoryStore
from xconduit.sandbox import Sandbox, SeedEvent, serve_sandbox
from xconduit.serving import serve_in_thread

# The docs' screenshots are refreshed with XCONDUIT_SCREENSHOTS=1 (not on every run: the repository
# stays clean); otherwise they go to the test's temporary folder. The syncs and audiences pages'
# come from test_dashboard_pages.py (a store with sync runs and audiences): run both files.
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
PAGES = {
    "overview": "/",
    "debugger": "/dashboard/debugger",
    "dead-letters": "/dashboard/dead",
    "connection": "/dashboard/connection",
    "engine": "/dashboard/engine",
}
ENGINE_WORDS = ("retry_scheduled", "in_flight", "outbox", "jobs", "messageId", "pid")
"""The delivery engine's words: on its own page, never on the overview."""


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
    yield from open_page(browser, 1280, 900)  # the size of the screenshots in docs/img


def settled(gateway: Gateway, expected: int) -> bool:
    """`expected` jobs delivered or dead, and counted: the counters follow the state change in a
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


def test_dashboard_shows_the_store_resumes_and_leaks_nothing(
    live: tuple[Sandbox, Gateway, str], page: Page, tmp_path: Path
) -> None:
    sandbox, gateway, url = live
    shots = DOCS_IMG if os.environ.get("XCONDUIT_SCREENSHOTS") else tmp_path
    send_known_traffic(url)
    wait_for(lambda: settled(gateway, EXPECTED["delivered"]), "delivery")
    held = {JobStatus.DELIVERED: EXPECTED["delivered"], JobStatus.PENDING: EXPECTED["held"]}
    wait_for(lambda: gateway.store.counts()["shop"] == held, "ops-7 held, pending")
    store = gateway.store
    counters = cast(CountingStore, store)  # every store keeps the counters too
    totals = {(r.name, tuple(sorted(r.labels.items()))): r.value for r in counters.counter_totals()}
    shop = (("destination", "shop"),)

    # The engine's own words and states: on the delivery engine page.
    page.goto(url + "/dashboard/engine")
    for key in ("received", "filtered", "invalid", "delivered", "dead"):
        assert shown(page, f"shop.day.{key}") == EXPECTED[key], key
        assert shown(page, f"shop.hour.{key}") == EXPECTED[key], key
    for key in ("filtered", "invalid", "delivered", "dead"):
        counter = f"conversions_{key}"
        stored = sum(v for (n, labels), v in totals.items() if n == counter and shop[0] in labels)
        assert shown(page, f"shop.day.{key}") == stored
    assert shown(page, "shop.now.dead") == 0
    assert shown(page, "shop.now.pending") == EXPECTED["held"]

    # The overview in a marketer's words: every received event is sent, not sent (and why),
    # waiting (and what holds it) or failed.
    page.goto(url + "/")
    got = {k: shown(page, f"shop.day.{k}") for k in ("received", "sent", "not_sent", "failed")}
    got["waiting"] = shown(page, "shop.now.waiting")
    assert got == {
        "received": EXPECTED["received"],
        "sent": EXPECTED["delivered"],
        "not_sent": EXPECTED["filtered"] + EXPECTED["invalid"],
        "waiting": EXPECTED["held"],
        "failed": EXPECTED["dead"],
    }
    assert got["received"] == got["sent"] + got["not_sent"] + got["waiting"] + got["failed"]
    assert shown(page, "shop.not_sent.not mapped to an X event") == EXPECTED["filtered"]
    assert shown(page, "shop.not_sent.no email, phone or click id") == EXPECTED["invalid"]
    held_by = page.locator("#dest-shop .waiting-note").inner_text()
    assert 'held until this is fixed: conversion destination "shop": events["Broken Thing"]' in (
        held_by
    )
    visible = page.inner_text("main")
    for word in ENGINE_WORDS:
        assert not re.search(rf"\b{word}\b", visible, re.IGNORECASE), word
    page.click("text=Delivery engine")
    expect(page.locator("main")).to_contain_text("Now in the outbox")
    page.goto(url + "/")
    assert shown(page, "shop.match.delivered") == 3
    assert shown(page, "shop.match.email") == 67  # ops-3's email was dropped
    assert shown(page, "shop.match.phone") == 67  # 2 of 3
    assert shown(page, "shop.dropped.email") == EXPECTED["dropped_email"]
    assert (
        shown(page, "18ce552mlaq.budget.used")
        == totals[("x_conversions_sent", (("account", "18ce552mlaq"),))]
    )
    # the 3 sent Order Completed, charted over 24 hours and 7 days (test_dashboard_charts.py)
    expect(page.locator("#dest-shop figure.chart svg[role=img]")).to_have_count(2)
    expect(page.locator("#dest-shop figure.chart svg").first).to_have_attribute(
        "aria-label", "Order Completed, last 24 hours: 3 sent to X, 0 failed"
    )

    # The debugger's rows of a burst are written up to RECENT_EVERY after its last commit.
    wait_for(lambda: len(store.recent_events(limit=1000)) == EXPECTED["received"], "debugger")
    page.goto(url + "/dashboard/debugger")
    expect(page.locator(".debug-line")).to_have_count(EXPECTED["received"])
    # A field left out of a conversion is named with its rule in the event's line.
    ops_3 = page.locator(".debug-line", has_text="ops-3")
    ops_3.locator("summary").click()
    assert "dropped email (not an email address)" in ops_3.inner_text()
    page.fill("input[name=event]", "Broken Thing")
    page.click("#filters button")
    expect(page.locator(".debug-line")).to_have_count(1)
    page.locator(".debug-line summary").click()
    held_line = page.locator(".debug-line").inner_text()
    assert "ops-7" in held_line
    # A waiting event says what holds it.
    assert 'held until this is fixed: conversion destination "shop": events["Broken Thing"]' in (
        page.locator(".debug-line summary").inner_text()
    )
    assert re.search(r'"hashed_email": "[0-9a-f]{64}"', held_line)
    page.fill("input[name=event]", "Product Viewed")
    page.click("#filters button")
    expect(page.locator(".debug-line")).to_have_count(1)
    assert page.locator(".debug-line").get_attribute("data-outcome") == "filtered"
    page.locator(".debug-line summary").click()
    assert "ops-4" in page.locator(".debug-line").inner_text()

    html_of = {}
    for name, path in PAGES.items():
        page.goto(url + path)
        html_of[name] = page.content()
        page.screenshot(path=str(shots / f"dashboard-{name}.png"), full_page=True)
        assert_no_personal_data(html_of[name])
    assert "✗" in html_of["connection"]  # the unknown event id fails its check
    assert "ol999" in html_of["connection"]
    assert 'conversion destination "shop" (account 18ce552mlaq) since' in html_of["connection"]
    assert "no dead letter" in html_of["dead-letters"]

    # The cause is fixed in Events Manager; the checks run from the page resume delivery.
    sandbox.create_event("oka17", SeedEvent(id="ol999", name="Broken Thing"))
    page.goto(url + "/dashboard/connection")
    with page.expect_navigation():
        page.click("button:text('Run the checks now')")
    assert "✗" not in page.locator("#checks").inner_text()
    wait_for(lambda: store.counts()["shop"] == {JobStatus.DELIVERED: 4}, "the held one")
    assert "order-7" in {c["conversion_id"] for c in sandbox.conversions()}
    page.goto(url + "/")
    assert shown(page, "shop.day.sent") == 4
    assert shown(page, "shop.now.waiting") == 0
    assert shown(page, "shop.day.failed") == 0
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


REBIND = "attacker-rebind.example"
# A page of another site, once its host name points at the gateway (DNS rebinding): to the
# browser the gateway is then its own origin, whose answers it may read.
READ_AND_WRITE = """async () => {
  const form = new URLSearchParams({all: "1"});
  const seen = {};
  for (const path of ["/dashboard/debugger", "/dashboard/dead", "/metrics"]) {
    const answer = await fetch(path);
    seen[path] = [answer.status, await answer.text()];
  }
  for (const path of ["/dashboard/dead/purge", "/dashboard/dead/replay", "/dashboard/checks"]) {
    const answer = await fetch(path, {method: "POST", body: form, redirect: "manual"});
    seen[path] = [answer.status, await answer.text()];
  }
  return seen;
}"""
# A page on another loopback origin: "simple" requests, their answers opaque, and a form post.
BLIND_WRITES = """async (gateway) => {
  const form = new URLSearchParams({all: "1"});
  for (const path of ["/dashboard/dead/purge", "/dashboard/dead/replay", "/dashboard/checks"]) {
    await fetch(gateway + path, {method: "POST", mode: "no-cors", body: form});
  }
  const post = Object.assign(document.createElement("form"), {
    method: "POST", action: gateway + "/dashboard/dead/purge", target: "sink"});
  post.append(Object.assign(document.createElement("input"), {name: "all", value: "1"}));
  const sink = Object.assign(document.createElement("iframe"), {name: "sink"});
  document.body.append(sink, post);
  const loaded = new Promise((done) => sink.addEventListener("load", done));
  post.submit();
  await loaded;
}"""


@pytest.fixture
def rebinding_browser(browser: Browser) -> Iterator[Browser]:
    """Chromium resolving attacker-rebind.example to 127.0.0.1, as a rebinding DNS server would
    (launched by the session's Playwright: one sync Playwright per process)."""
    rules = f"--host-resolver-rules=MAP {REBIND} 127.0.0.1"
    chromium = browser.browser_type.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, rules])
    yield chromium
    chromium.close()


@pytest.fixture
def foreign_url() -> Iterator[str]:
    async def hostile(request: Any) -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>another site</title><body></body>")

    with serve_in_thread(Starlette(routes=[Route("/", hostile)]), name="hostile-page") as url:
        yield url


def test_a_hostile_page_reads_and_changes_nothing(
    live: tuple[Sandbox, Gateway, str], rebinding_browser: Browser, foreign_url: str
) -> None:
    _, gateway, url = live
    send_known_traffic(url)
    wait_for(lambda: settled(gateway, EXPECTED["delivered"]), "delivery")
    wait_for(lambda: len(gateway.store.recent_events(limit=1000)) > 0, "the debugger's rows")
    monitor = gateway.monitor
    assert monitor is not None
    wait_for(lambda: monitor.checked_at is not None, "the first checks")
    checked_at = monitor.checked_at
    # A dead letter for the page to try to purge or replay: the held job, given up by hand.
    owner = owner_keys(gateway.settings)["shop"]
    held = gateway.store.claim_batch(
        "shop", limit=10, now=time.time(), lease_seconds=600, owner=owner
    )
    assert len(held) == EXPECTED["held"]
    gateway.store.dead_letter([(job.id, "given up by the test") for job in held], now=time.time())
    dead = gateway.store.counts()["shop"][JobStatus.DEAD]
    assert dead == EXPECTED["held"]

    context = rebinding_browser.new_context()
    try:
        page = context.new_page()
        page.goto(foreign_url)
        page.evaluate(BLIND_WRITES, url)
        # The rebinding page: its script runs with the origin http://attacker-rebind.example:port,
        # which now resolves to the gateway. (Chromium's Private Network Access would stop a
        # public page's requests to loopback; Firefox and Safari have none. So the document is
        # the gateway's /healthz under the rebound name: same origin, no PNA in the way.)
        page.goto(url.replace("127.0.0.1", REBIND) + "/healthz")
        seen = cast(dict[str, list[Any]], page.evaluate(READ_AND_WRITE))
    finally:
        context.close()

    for path, (status, text) in seen.items():
        assert status == 403, path
        assert "debug-line" not in text, path
        assert "dead-letter" not in text, path
        assert "xconduit_" not in text, path  # no metric either
    assert gateway.store.counts()["shop"][JobStatus.DEAD] == dead  # neither purged nor replayed
    assert monitor.checked_at == checked_at  # the checks did not run


def _hundred_events() -> list[dict[str, Any]]:
    """100 events: delivered (an email), filtered (not mapped) and invalid (no identifier)."""
    out = []
    for n in range(100):
        kind = n % 3
        event = "Product Viewed" if kind == 1 else "Order Completed"
        properties: dict[str, Any] = {"order_id": f"order-{n}", "revenue": n}
        if kind != 2:
            properties["email"] = EMAILS[n % len(EMAILS)]
        out.append(
            {
                "type": "track",
                "messageId": f"many-{n}",
                "userId": f"user-{n}",
                "event": event,
                "properties": properties,
            }
        )
    return out


def test_the_debugger_fits_100_events_in_two_screens_and_opens_a_payload_on_click(
    live: tuple[Sandbox, Gateway, str], browser: Browser, tmp_path: Path
) -> None:
    _, gateway, url = live
    shots = DOCS_IMG if os.environ.get("XCONDUIT_SCREENSHOTS") else tmp_path
    with httpx.Client(base_url=url, auth=(WRITE_KEY, ""), timeout=10) as http:
        answer = http.post("/v1/batch", json={"batch": _hundred_events()})
        assert answer.json()["accepted"] == 100
    wait_for(lambda: settled(gateway, sum(1 for n in range(100) if n % 3 == 0)), "delivery")
    wait_for(lambda: len(gateway.store.recent_events(limit=1000)) == 100, "the debugger's rows")
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        page.goto(url + "/dashboard/debugger")
        lines = page.locator(".debug-line")
        expect(lines).to_have_count(100)
        page.screenshot(path=str(tmp_path / "dashboard-debugger-100.png"), full_page=True)
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height <= 2 * 768, f"100 events take {height} px"
        # One line each: time, source, event, destination, outcome, reason; no payload shown yet.
        first = lines.first
        assert first.locator("summary").bounding_box()["height"] <= 20  # type: ignore[index]
        assert "hashed_email" not in page.inner_text("#debugger")
        # A click opens the exact payload X gets; its hashes wrap inside the panel.
        delivered = page.locator('.debug-line[data-outcome="delivered"]').first
        delivered.locator("summary").click()
        payload = delivered.locator("pre.payload")
        assert payload.is_visible()
        assert re.search(r'"hashed_email": "[0-9a-f]{64}"', payload.inner_text())
        fits = (
            "e => e.scrollWidth <= e.clientWidth && e.getBoundingClientRect().right <= innerWidth"
        )
        assert payload.evaluate(fits)
        page.screenshot(path=str(shots / "dashboard-debugger-open.png"))
        # The keyboard gets there too: Tab to a line, Enter opens it.
        filtered = page.locator('.debug-line[data-outcome="filtered"]').first
        filtered.locator("summary").focus()
        page.keyboard.press("Enter")
        assert filtered.evaluate("e => e.open")
        assert "Nothing goes to X" in filtered.inner_text()
        assert_no_personal_data(page.content())
        # The filters are query parameters: a reload (or a shared link) keeps them.
        page.select_option("select[name=outcome]", "invalid")
        page.fill("input[name=event]", "Order Completed")
        page.click("#filters button")
        invalid = sum(1 for n in range(100) if n % 3 == 2)
        expect(page.locator(".debug-line")).to_have_count(invalid)
        assert "outcome=invalid" in page.url
        page.reload()
        expect(page.locator(".debug-line")).to_have_count(invalid)
        assert page.input_value("input[name=event]") == "Order Completed"
        assert page.input_value("select[name=outcome]") == "invalid"
        assert_no_personal_data(page.content())
    finally:
        context.close()


def test_a_wrong_pixel_is_one_problem_line_in_the_words_of_the_config(
    browser: Browser, tmp_path: Path
) -> None:
    """The pixel's check, the event id's check (it belongs to the right pixel) and the pause
    of the destination are one cause: one line, naming the destination and the key."""
    sandbox = Sandbox()
    with serve_sandbox(sandbox) as x_url:
        config = tmp_path / "xconduit.toml"
        text = config_text(x_url, tmp_path / "outbox.db")
        text = text.replace('pixel_id = "oka17"', 'pixel_id = "okz99"')
        config.write_text(text.replace(', "Broken Thing" = "ol999"', ""))
        gateway = build_gateway(load_settings(config))
        gateway.start()
        try:
            with serve_in_thread(gateway.app) as url:
                send_known_traffic(url)  # 3 orders to send; the rest filtered or invalid
                ops = gateway.ops
                assert ops is not None
                wait_for(lambda: len(ops.alarm().paused()) == 1, "the destination's pause")
                wait_for(lambda: ops.alarm().checked_at() is not None, "the checks")
                pending = {JobStatus.PENDING: 3}
                wait_for(lambda: gateway.store.counts()["shop"] == pending, "3 held")
                context = browser.new_context(viewport={"width": 1366, "height": 768})
                try:
                    page = context.new_page()
                    page.goto(url + "/")
                    problems = page.locator("#alarm li")
                    assert problems.count() == 1, problems.all_inner_texts()
                    line = problems.inner_text()
                    assert 'conversion destination "shop": pixel_id' in line
                    assert "conversions[0]" not in line
                    assert "3 events wait on it" in line
                    assert problems.locator(".waiting").get_attribute("data-waiting") == "3"
                    page.screenshot(path=str(tmp_path / "dashboard-problem.png"))
                    problems.locator("a", has_text="the check").click()
                    page.wait_for_url("**/dashboard/connection#check-*")
                    found = page.locator(":target")
                    assert "pixel okz99" in found.inner_text()
                    assert "✗" in found.inner_text()
                finally:
                    context.close()
        finally:
            gateway.stop()


def test_the_overview_says_why_an_event_failed_and_what_to_do(
    live: tuple[Sandbox, Gateway, str], page: Page
) -> None:
    _, gateway, url = live
    send_known_traffic(url)
    wait_for(lambda: settled(gateway, EXPECTED["delivered"]), "delivery")
    # The held job, given up by hand through the store as delivery uses it (counting what the
    # acks do), as when X refuses it.
    store = MeteredStore(gateway.store, CountSink(cast(Any, gateway.store).add_counts, time.time))
    owner = owner_keys(gateway.settings)["shop"]
    held: list[Any] = []

    def claimed() -> bool:
        now = time.time()
        held.extend(store.claim_batch("shop", limit=10, now=now, lease_seconds=600, owner=owner))
        return bool(held)

    wait_for(claimed, "the held job")
    store.dead_letter([(job.id, "X 400 INVALID_PARAMETER") for job in held], now=time.time())
    wait_for(lambda: settled(gateway, EXPECTED["delivered"] + len(held)), "the dead letter")
    page.goto(url + "/")
    got = {k: shown(page, f"shop.day.{k}") for k in ("received", "sent", "not_sent", "failed")}
    got["waiting"] = shown(page, "shop.now.waiting")
    assert got == {"received": 7, "sent": 3, "not_sent": 3, "waiting": 0, "failed": 1}
    section = page.locator("#dest-shop").inner_text()
    assert "1 — X said: INVALID_PARAMETER" in section  # X's error code
    assert "Replay on the Dead letters page" in section
    page.locator("#dest-shop").get_by_role("link", name="Dead letters").click()
    expect(page.locator("tr.dead-letter")).to_have_count(1)
    expect(page.locator("tr.dead-letter button", has_text="Replay")).to_have_count(1)
