"""A worker whose X token is refused pauses the account; a `serve --no-delivery` collector (another
process, no X client) names the pause and the worker's pid in `/readyz` and `/metrics`, and clears
once that worker stops; a worker with a good token then delivers what waited. Real processes."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.fleet import ACCOUNT, Generator, Processes, sandbox, wait_delivered, write_config
from tests.support.pgtemp import temp_schema

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def paused_accounts(url: str) -> dict[str, float]:
    text = httpx.get(url + "/metrics", timeout=10).text
    return {
        sample.labels["account"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "xconduit_account_paused"
    }


def test_a_worker_s_refused_token_shows_on_a_collector_until_the_worker_stops(
    tmp_path: Path,
) -> None:
    with sandbox(events=10**6, window=60.0) as x_url, temp_schema() as store:
        config = write_config(tmp_path, store=store, x_url=x_url, events=10**6, window=60)
        processes = Processes(config)
        try:
            _, url = processes.collector()
            assert httpx.get(url + "/readyz").json()["delivering"] == 0

            good = processes.env
            processes.env = {**good, "XCONDUIT_X__ACCESS_TOKEN": "not-the-token"}
            refused = processes.worker()
            processes.env = good

            def named() -> bool:
                answer = httpx.get(url + "/readyz", timeout=10)
                return answer.status_code == 503 and any(
                    f"delivery to account {ACCOUNT} paused" in r["problem"]
                    and r["pid"] == refused.pid
                    and r["kind"] == "worker"
                    for r in answer.json()["reported_by"]
                )

            wait_until(named, "the collector's /readyz to name the worker's pause")
            assert paused_accounts(url) == {ACCOUNT: 1.0}
            dashboard = httpx.get(url + "/").text
            # One line for the account: its pause, or the failed check that explains it.
            alarm = dashboard[dashboard.index('id="alarm"') :]
            assert f"account {ACCOUNT}</b> — delivery paused" in alarm or (
                f"account {ACCOUNT}: credentials" in alarm
            )
            assert f"pid {refused.pid}" in alarm  # who reports it (the line's title)

            sender = Generator([url], 50)
            sender.run()
            assert len(sender.acked) == 50  # the collector keeps collecting meanwhile

            refused.send_signal(signal.SIGTERM)  # stops cleanly: its heartbeat is removed
            refused.wait(timeout=30)
            wait_until(
                lambda: httpx.get(url + "/readyz").json().get("delivering") == 0,
                "the alarm to clear",
            )
            assert paused_accounts(url) == {}

            processes.worker()
            wait_until(
                lambda: httpx.get(url + "/readyz").json() == {"status": "ready"},
                "a delivering worker",
            )
            got = wait_delivered(x_url, sender.acked, timeout=60)
            assert sender.acked <= {c["conversion_id"] for c in got}
        finally:
            processes.stop_all()
