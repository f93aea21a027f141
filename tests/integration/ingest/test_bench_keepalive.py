"""The keep-alive clients of `xconduit bench ingest-track|ingest-batch` connect as real clients do.

Segment's libraries and browsers keep one connection open and send one request after another on
it; the bench's keep-alive rows (p50/p99 per request) mean that only if each of its clients does
the same. This runs the bench's load for a moment against a served gateway and counts the
connections; it asserts no speed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from xconduit import serving
from xconduit.app import build_gateway
from xconduit.bench.ingest import AUTH, BATCH, _body
from xconduit.bench.keepalive import measure_keepalive
from xconduit.config import demo_settings

HEADERS = {"Authorization": AUTH, "Content-Type": "application/json"}


class CountingProtocol(serving.HttpProtocol):
    """`serving.HttpProtocol` that counts the connections it accepts."""

    accepted: ClassVar[int] = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        type(self).accepted += 1
        super().connection_made(transport)


def _run(tmp_path: Path, path: str, per_request: int, clients: int) -> tuple[int, int, int]:
    """(requests sent, connections accepted, conversions committed) of a short keep-alive load."""
    CountingProtocol.accepted = 0
    gateway = build_gateway(demo_settings(), workdir=tmp_path, delivery=False)
    gateway.start()
    try:
        http = serving.server(gateway.app)
        http.config.http = CountingProtocol
        with serving.running(http, serving.listen("127.0.0.1", 0), name="bench-test") as url:
            seconds = 3.0  # long enough for several requests per client on a loaded machine
            figures = measure_keepalive(
                url, path, HEADERS, _body, per_request=per_request, clients=clients, seconds=seconds
            )
        assert figures.p50_ms <= figures.p99_ms
        committed = sum(gateway.store.counts().get("demo", {}).values())
    finally:
        gateway.stop()
    return round(figures.requests_per_second * seconds), CountingProtocol.accepted, committed


def test_each_track_client_sends_every_request_on_one_connection(tmp_path: Path) -> None:
    requests, connections, committed = _run(tmp_path, "/v1/track", 1, clients=3)
    assert requests > 3  # several requests per client, so connections were reused
    assert connections == 3
    assert committed == requests  # every request was answered 200 and committed


def test_each_batch_client_sends_every_request_on_one_connection(tmp_path: Path) -> None:
    requests, connections, committed = _run(tmp_path, "/v1/batch", BATCH, clients=2)
    assert requests >= 2
    assert connections == 2
    assert committed == requests * BATCH
