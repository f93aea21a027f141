"""`/metrics` parsed with prometheus-client's parser equals the store's counts, also when the
conversions are delivered by another process (`xconduit worker`) sharing the store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.ops_traffic import EXPECTED, config_text, send_known_traffic, wait_for
from xconduit.app import build_gateway
from xconduit.config import load_settings
from xconduit.outbox import JobStatus
from xconduit.outbox.sqlite import SqliteStore
from xconduit.sandbox import Sandbox, serve_sandbox
from xconduit.serving import serve_in_thread


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    with serve_sandbox(Sandbox()) as url:
        yield url


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def shop_total(got: Samples, name: str) -> float:
    """A counter of destination "shop", summed over its `event` labels."""
    return sum(
        v for (n, labels), v in got.items() if n == name and ("destination", "shop") in labels
    )


def settled(store: SqliteStore) -> bool:
    states = store.counts().get("shop", {})
    return states == {
        JobStatus.DELIVERED: EXPECTED["delivered"],
        JobStatus.PENDING: EXPECTED["held"],
    }


def test_metrics_equal_the_store_with_a_separate_worker_process(
    sandbox_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "xconduit.toml"
    config.write_text(config_text(sandbox_url, tmp_path / "outbox.db"))
    gateway = build_gateway(load_settings(config), delivery=False)  # collects only
    gateway.start()
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "xconduit", "worker", "--config", str(config)],
        stdout=log,
        stderr=log,
        env={**os.environ, "XCONDUIT_CONFIG": ""},
    )
    store = SqliteStore(tmp_path / "outbox.db")
    try:
        with serve_in_thread(gateway.app) as url:
            send_known_traffic(url)
            wait_for(lambda: settled(store), "the worker to deliver")
            # The worker paused "shop" (X refused ol999); the collector shows its report.
            paused = 'xconduit_destination_paused{destination="shop"} 1.0'
            wait_for(lambda: paused in httpx.get(f"{url}/metrics").text, "the pause shown")
            text = httpx.get(f"{url}/metrics").text
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        log.close()
        gateway.stop()

    got = samples(text)
    assert got[("xconduit_events_received_total", (("source", "web"),))] == EXPECTED["received"]
    for outcome in ("queued", "filtered", "invalid", "delivered"):
        assert shop_total(got, f"xconduit_conversions_{outcome}_total") == EXPECTED[outcome]
    # Per configured event, the rest under one label: as few labels as the config has events.
    events = {value for (_, labels), _ in got.items() for key, value in labels if key == "event"}
    assert events == {"Order Completed", "Broken Thing", "(not mapped)"}
    shop = (("destination", "shop"), ("event", "Order Completed"))
    assert got[("xconduit_conversions_delivered_total", shop)] == EXPECTED["delivered"]
    assert got[("xconduit_conversions_filtered_total", (*shop[:1], ("event", "(not mapped)")))] == 2
    dead = {k: v for k, v in got.items() if k[0] == "xconduit_conversions_dead_total"}
    assert sum(dead.values()) == EXPECTED["dead"]
    dropped_email = sum(
        v
        for (name, labels), v in got.items()
        if name == "xconduit_identifiers_dropped_total" and ("kind", "email") in labels
    )
    assert dropped_email == EXPECTED["dropped_email"]
    phone = (*shop, ("key", "phone"))
    assert got[("xconduit_conversions_delivered_with_total", phone)] == 2

    # Every stored counter is in /metrics with its value; the queue gauge is the jobs table.
    for row in store.counter_totals():
        name = f"xconduit_{row.name}"
        if not name.endswith(("_bucket", "_sum", "_count")):
            name += "_total"
        assert got[(name, tuple(sorted(row.labels.items())))] == row.value, row
    for state, count in store.counts()["shop"].items():
        key = ("xconduit_jobs", (("destination", "shop"), ("state", str(state))))
        assert got[key] == count
    requests = sum(v for k, v in got.items() if k[0] == "xconduit_x_requests_total")
    assert requests >= 2  # the good batch and the refused one
    account = (("account", "18ce552mlaq"),)
    assert got[("xconduit_x_request_seconds_count", account)] == requests
    assert got[("xconduit_batch_conversions_count", account)] == requests
    store.close()
