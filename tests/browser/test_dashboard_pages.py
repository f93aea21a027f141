"""The syncs, audiences and connection pages in Chromium, on a gateway whose store holds real
sync runs (finished with rejected rows and a duplicate line, one that read nothing, one that
failed) and audience members; and every page's layout at 390 px and at 1366x768."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.ops_traffic import wait_for
from tests.support.sync_setup import COLUMNS, DESTINATION
from xconduit.app import build_gateway
from xconduit.audiences.lifecycle import gone_problem
from xconduit.config import Settings
from xconduit.errors import SourceError
from xconduit.outbox.audience_jobs import AudienceChange, ChangeOp
from xconduit.outbox.jobs import NewJob
from xconduit.outbox.open import store_path, sync_reports
from xconduit.outbox.sqlite import SqliteStore
from xconduit.serving import serve_in_thread
from xconduit.sync import run_sync

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
ORDERS = (
    "order_id,email,total,ts\n"
    "1,buyer.one@example.com,10.00,2026-03-01 09:00:00\n"
    "2,buyer.two@example.com,lots,2026-03-01 09:01:00\n"
    "3,buyer.three@example.com,5,2026-03-01 09:02:00\n"
    "3,buyer.three@example.com,5,2026-03-01 09:02:00\n"
)
WRITE_KEY = "wk_layout_test"
PERSONAL = ("buyer.one@example.com", "buyer.two@example.com", "buyer.three@example.com")


def config(tmp_path: Path) -> Settings:
    sync = {"destination": "shop", "event": "Order Completed", "columns": COLUMNS}
    return Settings.model_validate(
        {
            "server": {"store": f"sqlite:///{tmp_path}/outbox.db"},
            "x": {"api": "sandbox"},
            "sources": [{"name": "web", "write_keys": [WRITE_KEY]}],
            "conversions": [DESTINATION],
            "syncs": [
                {**sync, "name": "orders", "source": "orders.csv", "cursor": "order_id"},
                {**sync, "name": "refunds", "source": "refunds.csv", "schedule": "15m"},
            ],
            "audiences": [
                {
                    "name": "vip",
                    "account_id": "18ce552mlaq",
                    "source": "members.csv",
                    "identifiers": {"email": "email", "phone_number": "phone"},
                },
                {"name": "churned", "account_id": "18ce552mlaq", "identifiers": {"email": "e"}},
            ],
        }
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Settings, str]]:
    settings = config(tmp_path)
    gateway = build_gateway(settings, workdir=tmp_path, delivery=False, schedules=False)
    gateway.start()
    try:
        with serve_in_thread(gateway.app, host="127.0.0.1") as url:
            yield settings, url
    finally:
        gateway.stop()


def shots(tmp_path: Path) -> Path:
    return DOCS_IMG if os.environ.get("XCONDUIT_SCREENSHOTS") else tmp_path


def run_syncs(settings: Settings, tmp_path: Path) -> SqliteStore:
    """orders: a run with a rejected row and a repeated line, then one that reads nothing;
    refunds: a run whose file is missing (failed)."""
    store = SqliteStore(store_path(settings.server.store, workdir=tmp_path))
    reports = sync_reports(settings.server.store, workdir=tmp_path)
    (tmp_path / "orders.csv").write_text(ORDERS)
    for _ in range(2):
        run_sync(settings, "orders", store, reports=reports, base_dir=tmp_path)
    with pytest.raises(SourceError):
        run_sync(settings, "refunds", store, reports=reports, base_dir=tmp_path)
    return store


def test_the_syncs_page_lists_each_runs_figures_and_why(
    served: tuple[Settings, str], page: Page, tmp_path: Path
) -> None:
    settings, url = served
    store = run_syncs(settings, tmp_path)
    page.goto(url + "/")
    page.click("header >> text=Syncs")
    page.wait_for_url(url + "/dashboard/syncs")
    orders = page.locator("#sync-orders")
    runs = orders.locator("tr.run")
    expect(runs).to_have_count(2)
    newest, first = runs.nth(0), runs.nth(1)  # newest first
    cells = [c.strip() for c in first.locator("td").all_inner_texts()]
    assert cells[2:6] == ["4", "2", "1", "1"]  # read, sent, rejected, duplicates in the file
    assert cells[6] == "(start) → 3"
    assert "✓ finished" in cells[7]
    expect(newest).to_contain_text("◐ read nothing")
    expect(newest).to_contain_text("read 0 rows: none is past the cursor 3")
    expect(orders.locator(".next-run")).to_contain_text("runs when you run xconduit sync orders")

    refunds = page.locator("#sync-refunds")
    expect(refunds.locator("tr.run")).to_have_count(1)
    expect(refunds.locator("tr.run")).to_contain_text("✗ failed")
    expect(refunds.locator("tr.run")).to_contain_text("refunds.csv")
    expect(refunds.locator(".next-run")).to_contain_text("every 15 min while xconduit serve runs")

    # The report of the first run downloads masked; nothing personal on the page.
    link = first.locator("a", has_text="download")
    href = link.get_attribute("href")
    assert href is not None
    assert href.startswith("/dashboard/reports/orders-rejected-")
    report = httpx.get(url + href)
    assert report.status_code == 200
    assert "lots" in report.text
    html = page.content()
    for email in PERSONAL:
        assert email not in html
        assert email not in report.text
    page.screenshot(path=str(shots(tmp_path) / "dashboard-syncs.png"), full_page=True)
    store.close()


def job(audience: str, n: int) -> NewJob:
    return NewJob(
        destination=f"audience:{audience}",
        account_id="18ce552mlaq",
        pixel_id="aud",
        message_id=f"flush-{audience}-{n}",
        conversion_id="",
        payload=b"{}",
    )


def seed_audiences(store: SqliteStore) -> None:
    """vip: 3 members at X (email; one also phone), 2 adds and 1 remove waiting; churned: X no
    longer knows it, and X refused one request."""
    t = time.time() - 3600
    store.record_audience(
        name="vip", account_id="18ce552mlaq", audience_id="aud1", x_name="VIPs", now=t
    )
    store.audience_changes_to_jobs("vip", [], [job("vip", 0)], now=t)
    claimed = store.claim_audience_job("audience:vip", now=t + 30, lease_seconds=60)
    assert claimed is not None
    both = b'{"email":["e1"],"phone_number":["p1"]}'
    added = [("a", both), ("b", b'{"email":["e2"]}'), ("c", b'{"email":["e3"]}')]
    store.audience_delivered(claimed.id, audience="vip", added=added, removed=[], now=t + 60)
    changes: list[tuple[str, ChangeOp]] = [("a", "remove"), ("x", "add"), ("y", "add")]
    store.enqueue_audience_changes(
        [
            AudienceChange(audience="vip", user_key=k, op=op, payload=b'{"email":["x"]}')
            for k, op in changes
        ],
        now=t + 120,
    )
    store.record_audience(
        name="churned", account_id="18ce552mlaq", audience_id="aud2", x_name="Gone", now=t
    )
    store.note_audience_problem("churned", gone_problem("churned", "aud2"))
    store.audience_changes_to_jobs("churned", [], [job("churned", 0)], now=t)
    refused = store.claim_audience_job("audience:churned", now=t + 30, lease_seconds=60)
    assert refused is not None
    store.dead_letter([(refused.id, "X answered 400")], now=t + 60)


def test_the_audiences_page_shows_members_per_identifier_waiting_changes_and_fixes(
    served: tuple[Settings, str], page: Page, tmp_path: Path
) -> None:
    settings, url = served
    store = SqliteStore(store_path(settings.server.store, workdir=tmp_path))
    seed_audiences(store)
    page.goto(url + "/")
    expect(page.locator("#audiences-summary")).to_contain_text("2 audiences: 3 members at X")
    expect(page.locator("#audiences-summary")).to_contain_text("✗ 1 with a failure")
    page.click("#audiences-summary a")
    page.wait_for_url(url + "/dashboard/audiences")
    vip = page.locator("#audience-vip")
    expect(vip).to_contain_text("✓ no failure")
    expect(vip.locator('[data-metric="audience.vip.members"]')).to_have_text("3")
    expect(vip.locator('[data-metric="audience.vip.members.email"]')).to_have_text("3")
    expect(vip.locator('[data-metric="audience.vip.members.phone_number"]')).to_have_text("1")
    expect(vip.locator('[data-metric="audience.vip.adds"]')).to_have_text("2")
    expect(vip.locator('[data-metric="audience.vip.removes"]')).to_have_text("1")
    expect(vip).to_contain_text("aud1 · VIPs")
    expect(vip).to_contain_text("next flushdue now")  # a table row: no space between cells
    churned = page.locator("#audience-churned")
    expect(churned.locator(".failures li")).to_have_count(2)
    expect(churned).to_contain_text("xconduit audiences sync churned --recreate")
    expect(churned).to_contain_text('set audience "churned": audience_id to another audience')
    expect(churned).to_contain_text("replay them on the Dead letters page")
    expect(churned).to_contain_text("none: the audience follows events as they arrive")
    page.screenshot(path=str(shots(tmp_path) / "dashboard-audiences.png"), full_page=True)
    store.close()


def test_the_connection_page_speaks_the_configs_words_and_the_sandbox_is_not_x(
    page: Page, tmp_path: Path
) -> None:
    settings = config(tmp_path)
    gateway = build_gateway(settings, workdir=tmp_path)
    gateway.start()
    try:
        with serve_in_thread(gateway.app, host="127.0.0.1") as url:

            def checked() -> bool:  # the page shows the checks once the first one has run
                page.goto(url + "/dashboard/connection")
                return "tw-oka17-ol288" in page.inner_text("#checks")

            wait_for(checked, "the first check's results on the connection page")
            checks = page.locator("#checks tr.check")
            marks = {t.strip() for t in checks.locator("td:first-child").all_inner_texts()}
            assert marks == {"◐"}  # the built-in sandbox holds what the config names
            expect(checks.first).to_contain_text("not checked against X")
            shop = page.locator("#checks tr.check", has_text="Order Completed")
            expect(shop).to_contain_text('conversion destination "shop"')
            visible = page.inner_text("main")
            assert "conversions.shop" not in visible
            assert not re.search(r"\bpid\b", visible)
            assert "conversions[" not in visible
            page.screenshot(path=str(shots(tmp_path) / "dashboard-connection-sandbox.png"))
    finally:
        gateway.stop()


PAGES = (
    "/",
    "/dashboard/debugger",
    "/dashboard/syncs",
    "/dashboard/audiences",
    "/dashboard/dead",
    "/dashboard/connection",
    "/dashboard/engine",
)


def send_traffic(url: str) -> None:
    """Events of every kind for the overview and the debugger (waiting: nobody delivers)."""
    batch = [
        {
            "type": "track",
            "messageId": f"layout-{n}",
            "userId": f"user-{n}",
            "event": event,
            "properties": {"order_id": f"order-{n}", "revenue": 10 + n, **extra},
        }
        for n, (event, extra) in enumerate(
            [
                ("Order Completed", {"email": "buyer.one@example.com"}),
                ("Order Completed", {"email": "not-an-email"}),
                ("Product Viewed", {"email": "buyer.two@example.com"}),
                ("Order Completed", {}),
            ]
        )
    ]
    answer = httpx.post(url + "/v1/batch", json={"batch": batch}, auth=(WRITE_KEY, ""))
    assert answer.status_code == 200, answer.text


FOCUS = """() => { const e = document.activeElement; const s = getComputedStyle(e);
  return [e.tagName, (e.innerText || "").trim(), s.outlineStyle, s.outlineWidth]; }"""


def test_every_page_fits_390_px_and_1366_px_and_works_with_the_keyboard(
    served: tuple[Settings, str], browser: Browser, tmp_path: Path
) -> None:
    settings, url = served
    store = run_syncs(settings, tmp_path)
    seed_audiences(store)
    send_traffic(url)
    for width, height in ((390, 844), (1366, 768)):
        context = browser.new_context(viewport={"width": width, "height": height})
        try:
            page = context.new_page()
            for path in PAGES:
                page.goto(url + path)
                wide = page.evaluate("document.documentElement.scrollWidth")
                assert wide <= width, (path, width, wide)
                name = f"{width}{path.replace('/', '-')}.png"
                page.screenshot(path=str(tmp_path / name), full_page=True)  # to look at
                # A colour always has a text or a symbol beside it.
                for text in page.locator(".ok, .fail, .skip, .outcome").all_inner_texts():
                    assert text.strip(), path
            if width == 390:
                page.goto(url + "/dashboard/debugger")
                expect(page.locator(".debug-line")).to_have_count(4)
                page.screenshot(path=str(shots(tmp_path) / "dashboard-debugger-390.png"))
        finally:
            context.close()

    # Tab alone reaches every link of the header and the page's buttons, each visibly focused.
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        page.goto(url + "/dashboard/connection")
        expect(page.locator("button", has_text="Run the checks now")).to_have_count(1)
        reached = []
        for _ in range(40):
            page.keyboard.press("Tab")
            tag, text, outline, thickness = page.evaluate(FOCUS)
            if tag in ("A", "BUTTON"):
                assert outline != "none", (text, outline)
                assert thickness != "0px", (text, thickness)
                reached.append(text)
        labels = page.locator("header a").all_inner_texts()
        assert len(labels) == 7
        assert set(labels) <= set(reached), (labels, reached)
        assert "Run the checks now" in reached
    finally:
        context.close()
    store.close()
