"""Overload: past `server.max_in_flight` requests held, the collector sheds (503, Retry-After)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.events import order
from tests.support.gateway_live import (
    SHOP,
    WEB_KEY,
    gateway_settings,
    post,
    running_gateway,
    stored_conversions,
)
from xconduit.config import ServerSettings
from xconduit.outbox import IncomingEvent
from xconduit.outbox.sqlite import SqliteStore

BOUND = 4
CLIENTS = 20


class GatedStore(SqliteStore):
    """SQLite whose commits wait until the test opens the gate (a disk slower than the load).
    The tests set a long `busy_timeout`, so that the held requests wait for the gate."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = threading.Event()

    def commit_events(
        self, events: Sequence[IncomingEvent], *, now: float, recent: bool = True
    ) -> list[bool]:
        self.gate.wait(timeout=60)
        return super().commit_events(events, now=now, recent=recent)


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_past_the_bound_requests_are_shed_with_retry_after_and_none_of_them_is_committed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="xconduit.ingest")
    settings = gateway_settings(server=ServerSettings(max_in_flight=BOUND, busy_timeout=120))
    store = GatedStore(tmp_path / "outbox.db")
    answers: dict[str, httpx.Response] = {}

    def send(url: str, message_id: str) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:  # one connection per client
            answers[message_id] = post(http, "/v1/track", order(message_id))

    with running_gateway(settings, tmp_path, store=store) as (gateway, url):
        ids = [f"burst-{n}" for n in range(CLIENTS)]
        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(send, url, message_id) for message_id in ids]
            # The commits are held: BOUND requests wait for theirs, every other one is shed.
            _wait_for(lambda: len(answers) >= CLIENTS - BOUND, "the shed requests' answers")
            # Health, readiness and metrics are never shed.
            with httpx.Client(base_url=url, timeout=10) as http:
                assert http.get("/healthz").status_code == 200
                assert http.get("/readyz").status_code == 200
                assert http.get("/metrics").status_code == 200
            store.gate.set()
            for future in futures:
                future.result()

        ok = sorted(m for m, r in answers.items() if r.status_code == 200)
        shed = sorted(m for m, r in answers.items() if r.status_code == 503)
        assert len(ok) == BOUND
        assert len(shed) == CLIENTS - BOUND
        for message_id in shed:
            response = answers[message_id]
            assert response.headers["Retry-After"].isdigit()
            assert response.json()["success"] is False
            assert "overloaded" in response.json()["error"]

        # Every 200'd event is in the store, no 503'd one is.
        stored = {c["conversion_id"] for c in stored_conversions(gateway)}
        assert stored == {f"o-{m}" for m in ok}

        # Right after the burst, the next request is admitted and answered 200.
        assert gateway.collector.admission.requests == 0
        with httpx.Client(base_url=url, timeout=10) as http:
            after = post(http, "/v1/track", order("after-the-burst"))
            assert after.status_code == 200
            assert after.json()["accepted"] == 1
            # Retried, a shed event is committed (it never was).
            retried = post(http, "/v1/track", order(shed[0]))
            assert retried.status_code == 200
            assert retried.json()["accepted"] == 1

            # The counter reaches the store within a second or so of the shedding.
            def counted() -> bool:
                text = http.get("/metrics").text
                return f"xconduit_requests_shed_total {CLIENTS - BOUND}.0" in text

            _wait_for(counted, "xconduit_requests_shed_total in /metrics")

    # One line when the burst starts and one when it ends, not one per request.
    lines = [r.getMessage() for r in caplog.records if r.name == "xconduit.ingest"]
    assert len([line for line in lines if line.startswith("overloaded:")]) == 1
    ended = [line for line in lines if line.startswith("overload over:")]
    assert ended == [] or ended[0].startswith(f"overload over: {CLIENTS - BOUND} requests shed")


def test_a_request_beyond_the_byte_bound_is_shed_but_one_alone_is_always_admitted(
    tmp_path: Path,
) -> None:
    settings = gateway_settings(server=ServerSettings(max_in_flight_bytes=100, busy_timeout=120))
    store = GatedStore(tmp_path / "outbox.db")
    answers: list[httpx.Response] = []

    def send(url: str, message_id: str, **kw: Any) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            answers.append(post(http, "/v1/track", order(message_id), **kw))

    with running_gateway(settings, tmp_path, store=store) as (gateway, url):
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(send, url, "big-1")  # larger than 100 bytes, but alone: held
            _wait_for(lambda: gateway.collector.admission.requests == 1, "the first request")
            # From a browser: the refusal carries CORS, so the page's script can read it.
            second = pool.submit(send, url, "big-2", key=WEB_KEY, headers={"Origin": SHOP})
            _wait_for(lambda: len(answers) == 1, "the second request's answer")
            assert answers[0].status_code == 503
            assert answers[0].headers["Access-Control-Allow-Origin"] == SHOP
            assert answers[0].headers["Retry-After"].isdigit()
            store.gate.set()
            first.result()
            second.result()
        assert answers[1].status_code == 200
        assert {c["conversion_id"] for c in stored_conversions(gateway)} == {"o-big-1"}
