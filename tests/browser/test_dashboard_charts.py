"""The overview's charts in Chromium: per event, sent to X and failed per hour over 24 hours and
per day over 7 days (older than the per-minute amounts' 2 days), with labelled axes, a legend,
hatched failed bars, the numbers in a table for screen readers, and a page that fits 390 px."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser_pages import open_page
from tests.support.priority_jobs import priority_job
from tests.support.sync_setup import DESTINATION
from xconduit.app import build_gateway
from xconduit.config import Settings
from xconduit.config.identity import owner_keys
from xconduit.outbox.counts import Count
from xconduit.serving import serve_in_thread

SHOP = ("destination", "shop")
ACCOUNT = str(DESTINATION["account_id"])
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def queued(event: str, n: float) -> Count:
    return Count("conversions_queued", (SHOP, ("event", event)), n)


def sent(event: str, n: float) -> Count:
    return Count("conversions_delivered", (SHOP, ("event", event)), n)


def failed(event: str, n: float) -> Count:
    return Count("conversions_dead", (SHOP, ("event", event), ("reason", "http_400")), n)


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    settings = Settings.model_validate(
        {
            "server": {"store": f"sqlite:///{tmp_path}/outbox.db"},
            "x": {"api": "sandbox"},
            "conversions": [DESTINATION],
        }
    )
    gateway = build_gateway(settings, workdir=tmp_path, delivery=False, schedules=False)
    gateway.start()
    store: Any = gateway.store
    now = time.time()
    # received as many as were sent or failed, and the 8 still waiting (so the table adds up)
    store.add_counts([queued("Order Completed", 162), queued("Signed Up", 7)], now=now - 5 * 3600)
    store.add_counts([sent("Order Completed", 120), failed("Order Completed", 4)], now=now)
    store.add_counts([sent("Order Completed", 30), sent("Signed Up", 7)], now=now - 5 * 3600)
    store.add_counts([sent("Order Completed", 900)], now=now - 4 * 86400)  # hours only
    # The window's budget is used up: 3 purchases and 5 of a sync's rows wait for the next one.
    store.add_counts([Count("x_conversions_sent", (("account", ACCOUNT),), 60_000)], now=now)
    owner = owner_keys(settings)["shop"]
    store.commit_events(
        [priority_job(f"w-{n}", priority=0 if n < 3 else 9, owner=owner) for n in range(8)], now=now
    )
    try:
        with serve_in_thread(gateway.app, host="127.0.0.1") as served:
            yield served
    finally:
        gateway.stop()


def test_each_event_has_a_24_hour_and_a_7_day_chart_with_axes_and_its_numbers(
    url: str, page: Page
) -> None:
    page.goto(url + "/")
    section = page.locator("#dest-shop")
    charts = section.locator("figure.chart")
    expect(charts).to_have_count(4)  # two events, two charts each, the busiest event first
    expect(charts.nth(0).locator("figcaption")).to_have_text("Order Completed, last 24 hours")
    expect(charts.nth(1).locator("figcaption")).to_have_text("Order Completed, last 7 days")
    expect(charts.nth(2).locator("figcaption")).to_have_text("Signed Up, last 24 hours")
    day = charts.nth(0).locator("svg")
    expect(day).to_have_attribute(
        "aria-label", "Order Completed, last 24 hours: 150 sent to X, 4 failed"
    )
    expect(day.locator("text.x-tick")).to_have_count(4)
    expect(day.locator("text.y-tick")).to_have_count(3)
    expect(day).to_contain_text("conversions per hour")
    expect(day).to_contain_text("hour (UTC)")
    expect(day.locator(".legend")).to_contain_text("sent to X 150")
    expect(day.locator('rect[fill^="url(#"]')).to_have_count(2)  # a hatched bar and its legend
    week = charts.nth(1).locator("svg")
    expect(week.locator("text.x-tick")).to_have_count(7)
    expect(week.locator(".legend")).to_contain_text("sent to X 1,050")
    # The numbers, for screen readers: a table named by its caption, hidden from the eye.
    table = page.get_by_role("table", name="Order Completed, last 7 days")
    expect(table.locator("tbody tr")).to_have_count(7)
    expect(table.locator("tbody tr", has_text="900")).to_have_count(1)
    hours = page.get_by_role("table", name="Order Completed, last 24 hours")
    expect(hours.locator("tbody tr")).to_have_count(24)
    expect(hours.locator("tbody tr").last.locator("td")).to_have_text(["120", "4"])
    box = page.locator("#dest-shop .sr-only").first.bounding_box()
    assert box is not None
    assert box["width"] <= 1
    assert box["height"] <= 1


def test_the_waiting_say_per_priority_when_they_reach_x(url: str, page: Page) -> None:
    page.goto(url + "/")
    classes = page.locator("#dest-shop .waiting-classes li")
    at = r"(\d{4}-\d\d-\d\d )?\d\d:\d\d UTC"
    expect(classes).to_have_text(
        [
            re.compile(rf"^Purchases: 3 waiting, all at X by {at}$"),
            re.compile(rf"^Sync rows: 5 waiting, by {at}$"),
        ]
    )


def test_the_charts_fit_390_px(url: str, browser: Browser) -> None:
    for narrow in open_page(browser, 390, 844):
        narrow.goto(url + "/")
        chart = narrow.locator("#dest-shop figure.chart svg").first
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box is not None
        assert box["width"] <= 390
        assert narrow.evaluate("document.documentElement.scrollWidth") <= 390
        if os.environ.get("XCONDUIT_SCREENSHOTS"):
            shot = DOCS_IMG / "dashboard-overview-charts-390.png"
            narrow.locator("#dest-shop").screenshot(path=str(shot))
