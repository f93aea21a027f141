"""The dashboard's "Syncs and audiences" section after a real warehouse sync (a CSV into the
SQLite outbox) and a real audience sync against the sandbox over HTTP: the page's figures are
the store's, its report link serves the masked CSV, and no raw email reaches the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.audience_helpers import Snapshots, client_for, runner
from tests.support.audience_helpers import settings as audience_settings
from xconduit.app import build_gateway
from xconduit.config import Settings
from xconduit.outbox.open import store_path, sync_reports
from xconduit.outbox.sqlite import SqliteStore
from xconduit.sandbox import Sandbox
from xconduit.serving import serve_in_thread
from xconduit.sync import run_sync

DESTINATION = {
    "name": "shop",
    "account_id": "18ce552mlaq",
    "pixel_id": "oka17",
    "events": {"Order Completed": "tw-oka17-ol288"},
}
COLUMNS = {"email": "email", "value": "total", "conversion_id": "order_id", "conversion_time": "ts"}
EMAILS = [f"member{n}@example.com" for n in range(25)]


def config(tmp_path: Path) -> Settings:
    audience = audience_settings().audiences[0].model_dump(mode="json", exclude_none=True)
    return Settings.model_validate(
        {
            "server": {"store": f"sqlite:///{tmp_path}/outbox.db"},
            "conversions": [DESTINATION],
            "syncs": [
                {
                    "name": "orders",
                    "destination": "shop",
                    "event": "Order Completed",
                    "source": "orders.csv",
                    "cursor": "order_id",
                    "columns": COLUMNS,
                }
            ],
            "audiences": [audience],
        }
    )


@pytest.fixture
def page_url(tmp_path: Path) -> Iterator[str]:
    gateway = build_gateway(config(tmp_path), workdir=tmp_path, delivery=False)
    with serve_in_thread(gateway.app, host="127.0.0.1") as url:
        yield url


def metrics(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-metric="([^"]+)">([^<]*)<', html))


def test_the_page_shows_the_stores_sync_and_audience_figures(
    sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path, page_url: str
) -> None:
    settings = config(tmp_path)
    csv = tmp_path / "orders.csv"
    csv.write_text(
        "order_id,email,total,ts\n"
        "1,buyer.one@example.com,10.00,2026-03-01 09:00:00\n"
        "2,buyer.two@example.com,lots,2026-03-01 09:01:00\n"
        "3,buyer.three@example.com,5,2026-03-01 09:02:00\n"
    )
    store = SqliteStore(store_path(settings.server.store, workdir=tmp_path))
    reports = sync_reports(settings.server.store, workdir=tmp_path)
    first = run_sync(settings, "orders", store, reports=reports, base_dir=tmp_path)
    with csv.open("a") as handle:
        handle.write("4,buyer.four@example.com,7,2026-03-01 09:03:00\n")
    second = run_sync(settings, "orders", store, reports=reports, base_dir=tmp_path)
    assert (first.rows, first.enqueued, first.rejected, second.rows) == (3, 2, 1, 1)

    snaps = Snapshots()
    snaps.set_emails(EMAILS)
    client = client_for(sandbox, base_url, http)
    audience = runner(settings, store_path(settings.server.store, workdir=tmp_path), client, snaps)
    audience.sync("vip")
    record = audience.store.audience_record("vip")
    assert record is not None
    assert record.members == len(EMAILS)

    page = httpx.get(page_url + "/").text
    shown = metrics(page)
    assert shown["sync.orders.rows"] == "4"
    assert shown["sync.orders.enqueued"] == str(first.enqueued + second.enqueued)
    assert shown["sync.orders.rejected"] == "1"
    assert 'href="/dashboard/audiences"' in page  # the overview's one line links there
    audiences = httpx.get(page_url + "/dashboard/audiences").text
    on_audiences = metrics(audiences)
    assert on_audiences["audience.vip.members"] == str(record.members)
    assert on_audiences["audience.vip.members.email"] == str(record.members)
    pending = audience.store.audience_pending("vip")[0]
    waiting = sum(int(on_audiences[f"audience.vip.{k}"]) for k in ("adds", "removes", "sent"))
    assert waiting == pending
    assert record.audience_id in audiences
    assert record.x_name in audiences
    for email in EMAILS:
        assert email not in audiences
    state = store.sync_state("orders")
    assert state is not None
    assert state.updated_at is not None
    section = page[page.index('id="syncs"') :]
    assert "<code>4</code>" in section  # the cursor
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", section)  # last run, last flush
    for email in [*EMAILS, "buyer.one@example.com", "buyer.two@example.com"]:
        assert email not in page

    assert first.report is not None
    link = re.search(r'href="(/dashboard/reports/[^"]+)"', page)
    assert link is not None
    assert link.group(1).endswith(first.report.name)
    report = httpx.get(page_url + link.group(1))
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/csv")
    assert "lots" in report.text
    assert "buyer.two@example.com" not in report.text

    exposition = httpx.get(page_url + "/metrics").text
    assert 'xconduit_sync_rows_total{sync="orders"} 4.0' in exposition
    assert 'xconduit_sync_rejected_total{sync="orders"} 1.0' in exposition
    # The audience's figures too: users X accepted, members and pending changes now.
    assert f'xconduit_audience_users_added_total{{audience="vip"}} {len(EMAILS)}.0' in exposition
    assert f'xconduit_audience_members{{audience="vip"}} {record.members}.0' in exposition
    assert f'xconduit_audience_pending{{audience="vip"}} {pending}.0' in exposition


def test_only_a_syncs_own_reports_are_served(tmp_path: Path, page_url: str) -> None:
    settings = config(tmp_path)
    reports = sync_reports(settings.server.store, workdir=tmp_path)
    reports.mkdir(parents=True)
    (reports / "orders-rejected-20260301T090000Z.csv").write_text("row,rule\n1,x\n")
    (reports / "other-rejected-20260301T090000Z.csv").write_text("row\n")
    (tmp_path / "orders-rejected-20260301T090000Z.csv").write_text("outside\n")
    ok = httpx.get(page_url + "/dashboard/reports/orders-rejected-20260301T090000Z.csv")
    assert ok.status_code == 200
    assert ok.text == "row,rule\n1,x\n"
    for name in (
        "..%2Forders-rejected-20260301T090000Z.csv",
        "%2E%2E%2F%2E%2E%2Foutbox.db",
        "..",
        "other-rejected-20260301T090000Z.csv",  # no sync of that name
        "orders-rejected-..csv",
        "orders-rejected-20260301T090001Z.csv",  # absent
    ):
        answer = httpx.get(page_url + "/dashboard/reports/" + name)
        assert answer.status_code == 404, name
        assert "outside" not in answer.text
