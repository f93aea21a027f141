"""`deliver` and `rate-budget`: delivery throughput, and how fully the rate budget is used.

The sandbox runs in **another process** (`python -m xconduit sandbox`), reached over loopback
HTTP, so its request handling does not share this process's GIL. The outbox is SQLite on the
local disk (`synchronous=NORMAL`).

* `deliver`: a backlog of 200,000 conversions, no rate limit, delivered by `DeliveryService`;
  beside it, the way peer integrations send (one conversion per request, one after another),
  measured on a small sample and extrapolated to the same backlog.
* `rate-budget`: the sandbox allows 3,000 events per 15 s window; a backlog of 20,000 must go
  out with zero 429s and the budget used ≥ 95 %: the ideal makespan (the last batch can leave at
  the start of window ⌈N/limit⌉) over the measured one. `scale` shortens the window.

`scale` shrinks the backlogs, never the time measured: `deliver` adds backlogs until the
delivery has run `MIN_SECONDS`, and the one-per-request sample runs as long.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
from rich.progress import Progress

from xconduit.bench.registry import MIN_SECONDS, Row, benchmark
from xconduit.config import ConversionDestination, DeliverySettings
from xconduit.delivery import ConversionSender, DeliveryService
from xconduit.outbox import IncomingEvent, JobStatus, NewJob, Store
from xconduit.outbox.sqlite import SqliteStore
from xconduit.sandbox import SandboxCredentials
from xconduit.xads import XAdsClient, XCredentials

ACCOUNT, PIXEL, EVENT = "18ce552mlaq", "oka17", "ol288"
SHOP = ConversionDestination(name="shop", account_id=ACCOUNT, pixel_id=PIXEL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def sandbox_process(*args: str) -> Iterator[str]:
    """`xconduit sandbox` in a child process; yields its base URL."""
    port = _free_port()
    cmd = [sys.executable, "-m", "xconduit", "sandbox", "--port", str(port), *args]
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline or child.poll() is not None:
                raise RuntimeError("the sandbox process did not start")
            time.sleep(0.05)
        yield url
    finally:
        child.terminate()
        child.wait(10)


def _client(http: httpx.Client, url: str) -> XAdsClient:
    c = SandboxCredentials()
    credentials = XCredentials(
        consumer_key=c.consumer_key,
        consumer_secret=c.consumer_secret,
        access_token=c.access_token,
        access_token_secret=c.access_token_secret,
    )
    return XAdsClient(http=http, credentials=credentials, base_url=url)


def _recent() -> str:
    """An hour ago in X's form: recent enough to be sent (an older than 90 days one is not)."""
    moment = datetime.fromtimestamp(time.time() - 3600, UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


_TIME = _recent()


def _conversion(n: int) -> dict[str, object]:
    return {
        "conversion_time": _TIME,
        "event_id": EVENT,
        "identifiers": [{"hashed_email": f"{n:064x}"}],
        "conversion_id": f"bench-{n}",
    }


def _backlog(store: Store, count: int, *, first: int = 0, chunk: int = 10_000) -> None:
    now = time.time()
    for start in range(first, first + count, chunk):
        events = [
            IncomingEvent(
                source="bench",
                message_id=f"m{n}",
                jobs=(
                    NewJob(
                        destination=SHOP.name,
                        account_id=ACCOUNT,
                        pixel_id=PIXEL,
                        message_id=f"m{n}",
                        conversion_id=f"bench-{n}",
                        payload=orjson.dumps(_conversion(n)),
                    ),
                ),
            )
            for n in range(start, min(start + chunk, first + count))
        ]
        store.commit_events(events, now=now)


def run_service(
    store: Store,
    client: ConversionSender,
    settings: DeliverySettings,
    count: int,
    progress: Progress,
    label: str,
    *,
    poll: float = 0.05,
) -> tuple[float, DeliveryService]:
    """Deliver `count` jobs of SHOP from `store` through `client`: the seconds it took, and the
    stopped service (its stats); raises unless the store holds exactly `count` delivered."""
    task = progress.add_task(label, total=count)
    service = DeliveryService(store=store, client=client, delivery=settings, destinations=[SHOP])
    start = time.perf_counter()
    service.start()
    try:
        while True:
            # The workers' own counters: counting rows in the store would compete with them.
            stats = service.stats().get(SHOP.name)
            done = 0 if stats is None else stats.delivered
            progress.update(task, completed=done)
            if done >= count:
                break
            time.sleep(poll)
        elapsed = time.perf_counter() - start
    finally:
        service.stop(timeout=30)
        progress.remove_task(task)
    delivered = store.counts().get(SHOP.name, {}).get(JobStatus.DELIVERED, 0)
    if delivered != count:
        raise RuntimeError(f"the store holds {delivered:,} delivered jobs, not {count:,}")
    return elapsed, service


@benchmark("deliver")
def run_deliver(progress: Progress, scale: float) -> list[Row]:
    count = max(2000, int(200_000 * scale))
    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory() as folder,
        sandbox_process("--rate-limit-events", "0") as url,
        httpx.Client(timeout=30.0) as http,
    ):
        settings = DeliverySettings(events_per_window=10**9, requests_per_window=10**9, workers=3)
        client = _client(http, url)
        delivered, elapsed, rounds = 0, 0.0, 0
        backlog = count
        while elapsed < MIN_SECONDS:
            # A fresh outbox per round, its backlog sized (from the rate so far) to fill the time.
            rounds += 1
            store = SqliteStore(Path(folder) / f"outbox-{rounds}.db", synchronous="NORMAL")
            _backlog(store, backlog, first=delivered)
            spent, _ = run_service(store, client, settings, backlog, progress, "deliver")
            store.close()
            delivered, elapsed = delivered + backlog, elapsed + spent
            backlog = max(count, int(delivered / elapsed * (MIN_SECONDS - elapsed) * 1.1))
        rate = delivered / elapsed
        rows.append(
            Row(
                benchmark="deliver",
                case=f"{delivered:,} backlog, batches of 500",
                value=rate,
                unit="events/s",
                target="≥ 20,000",
                ok=rate >= 20_000,
                note="sandbox in a child process, loopback HTTP",
            )
        )
        sample, start = 0, time.perf_counter()
        while sample < 100 or time.perf_counter() - start < MIN_SECONDS:
            client.send_conversions(PIXEL, [_conversion(delivered + sample)])
            sample += 1
        one_by_one = sample / (time.perf_counter() - start)
        rows.append(
            Row(
                benchmark="deliver",
                case=f"one per request, sequential ({sample:,})",
                value=one_by_one,
                unit="events/s",
                note=f"extrapolated: {200_000 / one_by_one:,.0f} s for 200,000",
            )
        )
        rows.append(
            Row(
                benchmark="deliver",
                case="batched ÷ one per request",
                value=rate / one_by_one,
                unit="×",
            )
        )
    return rows


@benchmark("rate-budget")
def run_rate_budget(progress: Progress, scale: float) -> list[Row]:
    limit, count = 3000, 20_000
    window = max(1.5, 15.0 * min(scale, 1.0))
    with (
        tempfile.TemporaryDirectory() as folder,
        sandbox_process(
            "--rate-limit-events", str(limit), "--rate-limit-window", str(window)
        ) as url,
        httpx.Client(timeout=30.0) as http,
    ):
        store = SqliteStore(Path(folder) / "outbox.db", synchronous="NORMAL")
        _backlog(store, count)
        settings = DeliverySettings(events_per_window=limit, window=window)
        elapsed, service = run_service(
            store, _client(http, url), settings, count, progress, "rate-budget"
        )
        stats = service.stats()[SHOP.name]
        store.close()
    ideal = (-(-count // limit) - 1) * window
    utilisation = ideal / elapsed
    return [
        Row(
            benchmark="rate-budget",
            case=f"{count:,} backlog, {limit:,} events / {window:g} s",
            value=utilisation * 100,
            unit="% of budget",
            target="≥ 95",
            ok=utilisation >= 0.95,
            note=f"{elapsed:.1f} s measured, {ideal:.1f} s ideal",
        ),
        Row(
            benchmark="rate-budget",
            case="429 answers",
            value=stats.rate_limited,
            unit="",
            target="0",
            ok=stats.rate_limited == 0,
        ),
    ]
