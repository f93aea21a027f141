"""`ingest-batch` and `ingest-track`: the collector over loopback HTTP, committed to SQLite.

The gateway (collector + group commit, delivery off) runs in this process; the load comes from
other processes over keep-alive connections, with a minimal HTTP/1.1 client so that the
generator is not what is measured. Every event has its own messageId and email, so each is
parsed, mapped, hashed and committed (SQLite, `synchronous=FULL`). Beside the collector, in the
same run, the floors (`xconduit.bench.floors`) under the same load.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import multiprocessing
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.progress import Progress

from xconduit.bench.keepalive import measure_keepalive
from xconduit.bench.registry import MIN_SECONDS, Row, benchmark
from xconduit.config import demo_settings
from xconduit.config.demo import DEMO_WRITE_KEY

BATCH = 100
EVENT = (
    b'{"type":"track","userId":"u%(i)d","event":"Order Completed","messageId":"%(id)s",'
    b'"properties":{"order_id":"o%(i)d","revenue":12.5,"email":"buyer%(i)d@example.com"}}'
)
SHAPES = {
    "unique emails": EVENT,
    "Order Completed, 3 products": (
        b'{"type":"track","userId":"u%(i)d","event":"Order Completed","messageId":"%(id)s",'
        b'"properties":{"order_id":"o%(i)d","revenue":%(i)d.5,"currency":"USD",'
        b'"email":"buyer%(i)d@example.com","products":['
        b'{"product_id":"sku-1","name":"Mug","price":10,"quantity":1},'
        b'{"product_id":"sku-2","name":"Tea","price":20.5,"quantity":2},'
        b'{"product_id":"sku-3","name":"Spoon","price":3.5,"quantity":2}]}}'
    ),
    "page view": (
        b'{"type":"page","anonymousId":"a%(i)d","name":"Home","messageId":"%(id)s",'
        b'"context":{"ip":"203.0.113.%(ip)d","userAgent":"Mozilla/5.0 (X11; Linux x86_64)",'
        b'"page":{"url":"https://shop.example/"}},"properties":{"email":"v%(i)d@example.com"}}'
    ),
}
"""The three shapes whose collector CPU per event is measured: each event its own messageId (a
random-looking UUID), user, email and amount (the page view's address one of 256); products from
a catalogue."""
CPU_GOAL_US = 25.0
"""Collector CPU per event (issue 23): 30,000 events/s in ≤ 1.2 cores with the database's."""
CLIENT_PROCESSES = 8
"""The clients of the floor comparison: processes, one keep-alive connection each."""
AUTH = "Basic " + base64.b64encode(f"{DEMO_WRITE_KEY}:".encode()).decode()
KEEPALIVE_CLIENTS = 4
"""Clients of the keep-alive cases, each on one persistent connection (as Segment's libraries)."""


def _message_id(run: bytes, i: int) -> bytes:
    """A random-looking UUID, as Segment's libraries send, the same for the same run and number:
    ids in no order make every insert into the ids' indexes land on another page, as in use."""
    digest = hashlib.blake2b(b"%s-%d" % (run, i), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest)).encode()


def _body(tag: str, n: int, per_request: int, shape: str = "unique emails") -> bytes:
    """Events n … n+per_request-1: one event, or a batch of them."""
    event, run = SHAPES[shape], tag.encode()
    events = [
        event % {b"i": i, b"id": _message_id(run, i), b"ip": i % 256}
        for i in range(n, n + per_request)
    ]
    return b'{"batch":[' + b",".join(events) + b"]}" if per_request > 1 else events[0]


def _request(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: {AUTH}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _connection(
    host: str,
    port: int,
    path: str,
    per_request: int,
    tag: str,
    until: float,
    interval: float,
    latencies: list[float],
    counter: list[int],
    shape: str,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    while loop.time() < until:
        n = counter[0]
        counter[0] += per_request
        body = _body(tag, n, per_request, shape)
        if interval:
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))
        start = time.perf_counter()
        writer.write(_request(path, body))
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"the gateway answered {head.splitlines()[0]!r}")
        latencies.append(time.perf_counter() - start)
    writer.close()


def _load(
    url: str,
    path: str,
    per_request: int,
    connections: int,
    seconds: float,
    rate: float,
    shape: str = "unique emails",
) -> tuple[int, list[float]]:
    """Run in the generator process: (events sent, per-request latencies)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    latencies: list[float] = []
    counter = [0]
    tag = f"{time.time_ns():x}-{os.getpid()}"
    interval = connections / rate if rate else 0.0

    async def run() -> None:
        until = asyncio.get_running_loop().time() + seconds
        await asyncio.gather(
            *(
                _connection(
                    host,
                    int(port),
                    path,
                    per_request,
                    tag,
                    until,
                    interval,
                    latencies,
                    counter,
                    shape,
                )
                for _ in range(connections)
            )
        )

    asyncio.run(run())
    return len(latencies) * per_request, latencies


def _p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[int(len(ordered) * 0.99)] * 1000 if ordered else 0.0


def _measure(
    url: str, path: str, per_request: int, connections: int, seconds: float, rate: float = 0.0
) -> tuple[float, float, float]:
    """(events/s, requests/s, p99 ms) of a load run in another process."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        start = time.perf_counter()
        events, latencies = pool.apply(_load, (url, path, per_request, connections, seconds, rate))
        elapsed = time.perf_counter() - start
    # Count from the first to the last answer, not the process start-up.
    busy = min(elapsed, seconds) or elapsed
    return events / busy, len(latencies) / busy, _p99(latencies)


def _client(
    url: str, path: str, per_request: int, seconds: float, shape: str, ready: Any, out: Any
) -> None:
    """One client process: one keep-alive connection, once every client is up."""
    ready.wait()
    out.put(_load(url, path, per_request, 1, seconds, 0.0, shape)[0])


def measure_processes(
    url: str,
    path: str,
    per_request: int,
    seconds: float,
    *,
    shape: str = "unique emails",
    processes: int = CLIENT_PROCESSES,
) -> tuple[float, float]:
    """(events/s, CPU µs of this process per event) of `processes` client processes, each with
    one keep-alive connection, all started before the clock."""
    ctx = multiprocessing.get_context("spawn")
    ready, out = ctx.Barrier(processes + 1), ctx.Queue()
    args = (url, path, per_request, seconds, shape, ready, out)
    children = [ctx.Process(target=_client, args=args, daemon=True) for _ in range(processes)]
    for child in children:
        child.start()
    ready.wait(timeout=120)
    cpu = time.process_time()
    events = sum(out.get(timeout=seconds + 120) for _ in children)
    cpu = time.process_time() - cpu
    for child in children:
        child.join(30)
    return events / seconds, cpu / max(events, 1) * 1e6


def _with_gateway(fn: Callable[[str], list[Row]]) -> list[Row]:
    from xconduit.app import build_gateway
    from xconduit.ingest.server import serve_in_thread

    with tempfile.TemporaryDirectory(prefix="xconduit-bench-") as folder:
        gateway = build_gateway(demo_settings(), workdir=Path(folder), delivery=False)
        gateway.start()
        try:
            with serve_in_thread(gateway.app) as url:
                return fn(url)
        finally:
            gateway.stop()


@benchmark("ingest-batch")
def run_ingest_batch(progress: Progress, scale: float) -> list[Row]:
    seconds = max(MIN_SECONDS, 10.0 * scale)
    task = progress.add_task("ingest-batch: /v1/batch, 100 events per request", total=4)

    def measure(url: str) -> list[Row]:
        _measure(url, "/v1/batch", BATCH, 4, 1.0)  # warm-up
        events, _, p99 = _measure(url, "/v1/batch", BATCH, 4, seconds)
        progress.advance(task)
        keepalive = _keepalive_rows(
            "ingest-batch", url, "/v1/batch", BATCH, seconds, targets=(50, 100)
        )
        progress.advance(task)
        shapes = {
            shape: measure_processes(url, "/v1/batch", BATCH, seconds, shape=shape)
            for shape in SHAPES
        }
        progress.advance(task)
        note = "shared 2-core machine; generator in another process"
        return [
            Row(
                benchmark="ingest-batch",
                case="events committed",
                value=events,
                unit="events/s",
                target="≥ 20,000",
                ok=events >= 20_000,
                note=note,
            ),
            Row(
                benchmark="ingest-batch",
                case="p99 ack",
                value=p99,
                unit="ms",
                target="≤ 100",
                ok=p99 <= 100,
            ),
            *keepalive,
            *cpu_rows("ingest-batch", shapes),
        ]

    rows = _with_gateway(measure)
    collector = next(
        r.value for r in rows if r.case == f"{CLIENT_PROCESSES} clients, unique emails"
    )
    floors = floor_rows("ingest-batch", collector, "/v1/batch", BATCH, seconds, ("parse", "insert"))
    progress.advance(task)
    return rows + floors


FLOORS = {
    "parse": ("bare Starlette + orjson parsing the same body", 0.3),
    "endpoint": ("bare Starlette endpoint parsing the same body", 0.9),
    "insert": ("the same + one SQLite insert per request (WAL, synchronous=FULL)", 1.0),
}
"""Each floor app (`xconduit.bench.floors`): what it is, and the share of it xconduit must reach."""


def cpu_rows(name: str, shapes: dict[str, tuple[float, float]]) -> list[Row]:
    """Per shape: events/s of the client processes, and the collector's CPU per event."""
    rows = []
    for shape, (rate, cpu) in shapes.items():
        rows += [
            Row(
                benchmark=name,
                case=f"{CLIENT_PROCESSES} clients, {shape}",
                value=rate,
                unit="events/s",
                note=f"{CLIENT_PROCESSES} keep-alive client processes, 100 events per request",
            ),
            Row(
                benchmark=name,
                case=f"CPU per event, {shape}",
                value=cpu,
                unit="µs collector",
                target=f"≤ {CPU_GOAL_US:g}",
                ok=cpu <= CPU_GOAL_US,
            ),
        ]
    return rows


def floor_rows(
    name: str,
    collector: float,
    path: str,
    per_request: int,
    seconds: float,
    kinds: tuple[str, ...],
    *,
    connections: int = 0,
) -> list[Row]:
    """Each floor's rate under the load xconduit had (`connections` in one client process, else
    `CLIENT_PROCESSES` processes) and xconduit's `collector` rate ÷ it, against the goal."""
    from xconduit.bench.floors import floor_app
    from xconduit.serving import serve_in_thread

    rows = []
    for kind in kinds:
        what, goal = FLOORS[kind]
        with (
            floor_app("insert" if kind == "insert" else "parse") as app,
            serve_in_thread(app) as url,
        ):
            if connections:
                _measure(url, path, per_request, connections, 1.0)  # warm-up
                rate = _measure(url, path, per_request, connections, seconds)[0]
            else:
                rate = measure_processes(url, path, per_request, seconds)[0]
        ratio = collector / rate if rate else 0.0
        unit = "events/s" if per_request > 1 else "req/s"
        rows += [
            Row(benchmark=name, case=f"floor: {what}", value=rate, unit=unit),
            Row(
                benchmark=name,
                case=f"xconduit ÷ that floor ({collector:,.0f} {unit})",
                value=ratio,
                unit="×",
                target=f"≥ {goal:g}",
                ok=ratio >= goal,
            ),
        ]
    return rows


@benchmark("ingest-track")
def run_ingest_track(progress: Progress, scale: float) -> list[Row]:
    seconds = max(MIN_SECONDS, 10.0 * scale)
    task = progress.add_task("ingest-track: /v1/track, one event per request", total=3)

    def measure(url: str) -> list[Row]:
        _measure(url, "/v1/track", 1, 8, 1.0)  # warm-up
        _, requests, p99_full = _measure(url, "/v1/track", 1, 64, seconds)
        progress.advance(task)
        half = requests / 2
        _, achieved, p99_half = _measure(url, "/v1/track", 1, 32, seconds, rate=half)
        progress.advance(task)
        keepalive = [
            *_keepalive_rows("ingest-track", url, "/v1/track", 1, seconds, targets=(10, 50)),
            *_keepalive_rows(
                "ingest-track", url, "/v1/track", 1, seconds, clients=1, targets=(5, 20)
            ),
        ]
        progress.advance(task)
        return [
            Row(
                benchmark="ingest-track",
                case="requests (saturated)",
                value=requests,
                unit="req/s",
                target="≥ 2,500",
                ok=requests >= 2_500,
                note=f"p99 {p99_full:.0f} ms at saturation",
            ),
            Row(
                benchmark="ingest-track",
                case=f"p99 at half load ({achieved:,.0f} req/s)",
                value=p99_half,
                unit="ms",
                target="≤ 50",
                ok=p99_half <= 50,
            ),
            *keepalive,
        ]

    rows = _with_gateway(measure)
    saturated = rows[0].value
    return rows + floor_rows(
        "ingest-track", saturated, "/v1/track", 1, seconds, ("endpoint",), connections=64
    )


def _keepalive_rows(
    name: str,
    url: str,
    path: str,
    per_request: int,
    seconds: float,
    *,
    clients: int = KEEPALIVE_CLIENTS,
    targets: tuple[float, float],
) -> list[Row]:
    """p50/p99 per request of `clients` clients, each sending one request after another on one
    keep-alive connection (`httpx.Client`), the way Segment's libraries and browsers connect."""
    headers = {"Authorization": AUTH, "Content-Type": "application/json"}
    figures = measure_keepalive(
        url, path, headers, _body, per_request=per_request, clients=clients, seconds=seconds
    )
    case = f"keep-alive, {clients} client{'s' if clients > 1 else ''}"
    rate = f"{figures.requests_per_second:,.0f} req/s, {figures.events_per_second:,.0f} events/s"
    p50_target, p99_target = targets
    return [
        Row(
            benchmark=name,
            case=f"{case}: p50 per request ({rate})",
            value=figures.p50_ms,
            unit="ms",
            target=f"≤ {p50_target:g}",
            ok=figures.p50_ms <= p50_target,
        ),
        Row(
            benchmark=name,
            case=f"{case}: p99 per request",
            value=figures.p99_ms,
            unit="ms",
            target=f"≤ {p99_target:g}",
            ok=figures.p99_ms <= p99_target,
        ),
    ]
