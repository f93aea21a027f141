"""The alarm of a running gateway: a check failing at start and an account whose credentials X
refuses mid-run show in `/readyz` (503 naming them), `/metrics`, the dashboard's banner and the
log; the jobs wait (no dead letter) and delivery resumes once the checks pass again."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Receive, Scope, Send

from tests.support.ops_traffic import WRITE_KEY, config_text, wait_for
from xconduit.app import Gateway, build_gateway
from xconduit.config import load_settings
from xconduit.outbox import JobStatus
from xconduit.sandbox import Sandbox, SeedEvent, serve_sandbox
from xconduit.sandbox.seed import DEFAULT_USER_ID
from xconduit.serving import serve_in_thread

ACCOUNT = "18ce552mlaq"
BROKEN = "conversions.shop event Broken Thing (tw-oka17-ol999)"
PAUSED = f"delivery to account {ACCOUNT} paused"
FIRST_CHECK = "the first check of the X credentials and accounts has not finished"


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


def problems(url: str) -> list[str] | None:
    """What /readyz names (None: ready)."""
    answer = httpx.get(url + "/readyz")
    if answer.status_code == 200:
        return None
    assert answer.status_code == 503
    named: list[str] = answer.json().get("problems", [])
    return named


def gauges(url: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    out = {}
    for family in text_string_to_metric_families(httpx.get(url + "/metrics").text):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def order(n: int) -> dict[str, object]:
    return {
        "type": "track",
        "messageId": f"alarm-{n}",
        "userId": f"u{n}",
        "event": "Order Completed",
        "properties": {"order_id": f"order-{n}", "email": "ann@example.com"},
    }


@pytest.mark.slow
def test_failing_checks_and_refused_credentials_raise_the_alarm_until_fixed(
    live: tuple[Sandbox, Gateway, str], caplog: pytest.LogCaptureFixture
) -> None:
    sandbox, gateway, url = live
    caplog.set_level(logging.WARNING)

    # The checks ran when the gateway started: the unknown event id is named everywhere.
    wait_for(lambda: bool(problems(url)), "the first checks")
    assert [p for p in problems(url) or [] if "ol999" in p] == [
        f"{BROKEN}: no event tw-oka17-ol999 in web_event_tags of account {ACCOUNT}"
    ]
    checks = gauges(url, "xconduit_check_ok")
    assert (
        checks[(("check", "event Broken Thing (tw-oka17-ol999)"), ("subject", "conversions.shop"))]
        == 0
    )
    assert checks[(("check", "role"), ("subject", f"account {ACCOUNT}"))] == 1
    overview = httpx.get(url + "/").text
    assert 'id="alarm"' in overview
    assert "ol999" in overview[overview.index('id="alarm"') :]

    # The user loses the role mid-run: X refuses the next batch; it waits, nothing dies.
    sandbox.set_permissions(DEFAULT_USER_ID, ACCOUNT, ("CAMPAIGN_ANALYST",))
    with httpx.Client(base_url=url, auth=(WRITE_KEY, ""), timeout=10) as http:
        for n in range(3):
            assert http.post("/v1/track", json=order(n)).status_code == 200
    wait_for(lambda: any(PAUSED in p for p in problems(url) or []), "the pause")
    assert gauges(url, "xconduit_account_paused") == {(("account", ACCOUNT),): 1.0}
    assert gateway.store.counts()["shop"] == {JobStatus.PENDING: 3}
    assert gateway.store.list_dead() == []
    assert any(r.levelno == logging.ERROR and PAUSED in r.getMessage() for r in caplog.records), (
        "no error line in the log"
    )
    for page in ("/", "/dashboard/connection"):
        html = httpx.get(url + page).text
        # A line for the account's pause (the role is not checked again yet), and the events
        # it holds.
        shown = html[html.index('id="alarm"') :]
        assert f"account {ACCOUNT}</b> — delivery paused" in shown, page
        assert "3 events wait on it" in shown, page
    connection = httpx.get(url + "/dashboard/connection").text
    assert f"account {ACCOUNT} since" in connection  # the connection table's paused row

    # Fixed at X (the role back, the event created), then "Run the checks now" on the dashboard.
    sandbox.set_permissions(DEFAULT_USER_ID, ACCOUNT, ("AD_MANAGER",))
    sandbox.create_event("oka17", SeedEvent(id="ol999", name="Broken Thing"))
    assert httpx.post(url + "/dashboard/checks").status_code == 303
    assert problems(url) is None
    assert gauges(url, "xconduit_account_paused") == {}
    wait_for(lambda: gateway.store.counts()["shop"] == {JobStatus.DELIVERED: 3}, "the resume")
    assert sorted(c["conversion_id"] for c in sandbox.conversions()) == [
        "order-0",
        "order-1",
        "order-2",
    ]
    assert 'id="alarm"' not in httpx.get(url + "/").text


def test_not_ready_before_the_first_check_has_run(tmp_path: Path) -> None:
    """X is slow to answer the first check: until it has, nothing says the credentials work."""
    sandbox = Sandbox()
    answer_x = threading.Event()

    async def slow_x(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.to_thread(answer_x.wait, 60)
        await sandbox.app(scope, receive, send)

    with serve_in_thread(slow_x, name="slow-x") as x_url:
        config = tmp_path / "xconduit.toml"
        config.write_text(config_text(x_url, tmp_path / "outbox.db"))
        gateway = build_gateway(load_settings(config))
        gateway.start()
        try:
            with serve_in_thread(gateway.app) as url:
                answer = httpx.get(url + "/readyz")
                assert answer.status_code == 503
                assert answer.json() == {"status": "starting", "reason": FIRST_CHECK}
                answer_x.set()
                wait_for(lambda: problems(url) != [], "the first checks' result")
                # The unknown event id of the configuration fails its check: named, not ready.
                named = problems(url) or []
                assert [p for p in named if "ol999" in p] == [
                    f"{BROKEN}: no event tw-oka17-ol999 in web_event_tags of account {ACCOUNT}"
                ]
        finally:
            answer_x.set()
            gateway.stop()
