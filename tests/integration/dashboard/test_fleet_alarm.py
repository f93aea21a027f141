"""The alarm of the whole fleet: a `serve --no-delivery` collector runs no checks, yet its
`/readyz`, `/metrics` and dashboard show what the delivering processes on the same store report
through their heartbeats (a paused account, named with its host and pid), and clear when the
problem clears or the reporting process's heartbeat goes stale. Real SQLite and PostgreSQL."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import httpx
import pytest

from tests.integration.dashboard.test_alarm import gauges
from tests.support.ops_traffic import config_text
from tests.support.pgtemp import temp_schema
from xconduit.accounts.fleet import NOBODY_DELIVERS, report_of
from xconduit.accounts.monitor import SetupMonitor
from xconduit.app import build_gateway
from xconduit.config import Settings, load_settings
from xconduit.delivery.pause import AccountPauses
from xconduit.outbox.heartbeat import Heartbeat
from xconduit.outbox.open import open_store
from xconduit.outbox.syncs import HEARTBEAT_TIMEOUT, SyncStore
from xconduit.serving import serve_in_thread

ACCOUNT = "18ce552mlaq"
REASON = "X answered 401 Unauthorized"
PAUSED = f"delivery to account {ACCOUNT} paused: {REASON}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgresql":
        with temp_schema() as url:
            yield url
        return
    yield f"sqlite:///{tmp_path / 'outbox.db'}"


@pytest.fixture
def settings(tmp_path: Path, store_url: str) -> Settings:
    config = tmp_path / "xconduit.toml"
    text = config_text("http://127.0.0.1:9", tmp_path / "outbox.db")
    config.write_text(text.replace(f'"sqlite:///{tmp_path / "outbox.db"}"', f'"{store_url}"'))
    settings = load_settings(config)
    assert settings.server.store == store_url
    return settings


@pytest.fixture
def collector(settings: Settings) -> Iterator[str]:
    """`serve --no-delivery`: no X client, no checks of its own."""
    gateway = build_gateway(settings, delivery=False)
    gateway.start()
    try:
        with serve_in_thread(gateway.app) as url:
            yield url
    finally:
        gateway.stop()


def banner(html: str) -> str:
    """The dashboard's alarm banner ("" when there is none)."""
    if 'id="alarm"' not in html:
        return ""
    start = html.index('id="alarm"')
    return html[start : html.index("</div>", start)]


@pytest.mark.slow
def test_a_worker_s_paused_account_shows_on_a_collector_until_it_clears(
    settings: Settings, collector: str
) -> None:
    url = collector
    # Nothing delivers yet: the collector stays ready (events wait in the outbox) and says so.
    ready = httpx.get(url + "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "delivering": 0, "note": NOBODY_DELIVERS}
    assert NOBODY_DELIVERS in banner(httpx.get(url + "/").text)
    assert gauges(url, "xconduit_delivering_processes") == {(): 0.0}

    # A worker on another store handle: X refused its credentials, it paused the account.
    pauses = AccountPauses()
    monitor = SetupMonitor(settings=settings, client=None, pauses=pauses)  # type: ignore[arg-type]
    store = cast(SyncStore, open_store(settings.server.store, busy_timeout=5.0))
    now = [time.time()]
    worker = Heartbeat(
        store, kind="worker", clock=lambda: now[0], report=lambda: report_of(monitor)
    )
    try:
        worker.beat()
        assert httpx.get(url + "/readyz").json() == {"status": "ready"}
        assert NOBODY_DELIVERS not in banner(httpx.get(url + "/").text)

        pauses.pause(ACCOUNT, REASON, now=now[0])
        worker.beat()
        answer = httpx.get(url + "/readyz")
        assert answer.status_code == 503
        reporter = {"kind": "worker", "host": socket.gethostname(), "pid": os.getpid()}
        assert answer.json() == {
            "status": "failing",
            "problems": [PAUSED],
            "reported_by": [{"problem": PAUSED, **reporter}],
        }
        assert gauges(url, "xconduit_account_paused") == {(("account", ACCOUNT),): 1.0}
        assert gauges(url, "xconduit_delivering_processes") == {(): 1.0}
        for page in ("/", "/dashboard/connection"):
            shown = banner(httpx.get(url + page).text)
            assert f"account {ACCOUNT}</b> — delivery paused: {REASON}" in shown, page
            assert f"worker on {socket.gethostname()} pid {os.getpid()}" in shown, page
        connection = httpx.get(url + "/dashboard/connection").text
        assert f"account {ACCOUNT} since" in connection  # the connection table's paused row
        # This process runs none: its button has the delivery processes on the store run theirs.
        assert "Run the checks now</button> (in every delivery process on the store)" in connection

        # The worker's checks pass again: the pause ends, and so does the alarm everywhere.
        pauses.resume(ACCOUNT)
        worker.beat()
        assert httpx.get(url + "/readyz").json() == {"status": "ready"}
        assert gauges(url, "xconduit_account_paused") == {}
        assert banner(httpx.get(url + "/").text) == ""

        # Paused again, then the worker dies: once its heartbeat is stale it no longer counts.
        pauses.pause(ACCOUNT, REASON, now=now[0])
        worker.beat()
        assert httpx.get(url + "/readyz").status_code == 503
        now[0] = now[0] - HEARTBEAT_TIMEOUT - 1  # its last beat, long ago
        worker.beat()
        assert httpx.get(url + "/readyz").json()["delivering"] == 0
        assert gauges(url, "xconduit_account_paused") == {}
        shown = banner(httpx.get(url + "/").text)
        assert "delivery paused" not in shown
        assert NOBODY_DELIVERS in shown
    finally:
        store.close()
