"""The collector as real clients reach it: a few `httpx.Client`s, each on one keep-alive connection.

Segment's server libraries and browsers keep one connection open and send one request after
another on it. Each client here does the same (sequential, no pipelining), from another process
(the other core), so the figures are per-request latencies a client sees: p50 and p99. A server
that leaves Nagle's algorithm on shows ~40 ms per request here, whatever its throughput.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

BodyFn = Callable[[str, int, int], bytes]
"""(run tag, first event number, events in the request) → request body."""


@dataclass(frozen=True, kw_only=True, slots=True)
class KeepAliveFigures:
    requests_per_second: float
    events_per_second: float
    p50_ms: float
    p99_ms: float


def _client(
    url: str,
    path: str,
    headers: dict[str, str],
    make_body: BodyFn,
    per_request: int,
    until: float,
    next_number: Callable[[], int],
    latencies: list[float],
) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with httpx.Client(base_url=url, headers=headers, limits=limits, timeout=30) as client:
        tag = f"{time.time_ns():x}-{threading.get_ident():x}"
        while time.perf_counter() < until:
            body = make_body(tag, next_number(), per_request)
            start = time.perf_counter()
            response = client.post(path, content=body)
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                raise RuntimeError(f"the gateway answered {response.status_code}")
            latencies.append(elapsed)


def _load(
    url: str,
    path: str,
    headers: dict[str, str],
    make_body: BodyFn,
    per_request: int,
    clients: int,
    seconds: float,
) -> list[float]:
    """Run in the generator process: every request's latency, in seconds."""
    latencies: list[float] = []
    lock = threading.Lock()
    counter = [0]

    def next_number() -> int:
        with lock:
            counter[0] += per_request
            return counter[0] - per_request

    until = time.perf_counter() + seconds
    threads = [
        threading.Thread(
            target=_client,
            args=(url, path, headers, make_body, per_request, until, next_number, latencies),
        )
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def percentile(latencies: list[float], fraction: float) -> float:
    """The `fraction` percentile of `latencies` (seconds), in milliseconds."""
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000 if ordered else 0.0


def measure_keepalive(
    url: str,
    path: str,
    headers: dict[str, str],
    make_body: BodyFn,
    *,
    per_request: int,
    clients: int,
    seconds: float,
) -> KeepAliveFigures:
    """`clients` keep-alive clients posting to `url + path` for `seconds`, from another process."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        latencies = pool.apply(
            _load, (url, path, headers, make_body, per_request, clients, seconds)
        )
    requests = len(latencies) / seconds
    return KeepAliveFigures(
        requests_per_second=requests,
        events_per_second=requests * per_request,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
    )
