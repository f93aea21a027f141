"""Benchmarks of the PostgreSQL store, beside SQLite and the floor.

* `pg-ingest`: `ingest-batch` and `ingest-track` (keep-alive clients in another process) with the
  outbox on PostgreSQL and on SQLite in the same run, and the floor: psycopg alone COPYing the
  same rows (dedup keys, payloads, states) into the same tables, with nothing else to do.
* `pg-collectors`: `/v1/batch` events/s against the number of collector processes
  (`serve --workers N --no-delivery`) on one PostgreSQL database.
* `pg-deliver` (in `pg_deliver`): claim + deliver with 1, 2 and 4 worker processes.

The database is XCONDUIT_BENCH_PG (default: the test server, database `test`); each run uses a
schema of its own and drops it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
from rich.progress import Progress

from xconduit.bench.deliver import _free_port
from xconduit.bench.ingest import (
    BATCH,
    CLIENT_PROCESSES,
    CPU_GOAL_US,
    SHAPES,
    _measure,
    measure_processes,
)
from xconduit.bench.registry import MIN_SECONDS, Row, benchmark
from xconduit.config import demo_settings
from xconduit.config.demo import DEMO_ACCOUNT_ID, DEMO_EVENTS, DEMO_PIXEL_ID, DEMO_WRITE_KEY
from xconduit.outbox import Store

SERVER = os.environ.get("XCONDUIT_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def pg_schema() -> Iterator[str]:
    """A store URL on a new schema of XCONDUIT_BENCH_PG, dropped at the end."""
    import psycopg

    name = f"xc_bench_{secrets.token_hex(5)}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    joiner = "&" if "?" in SERVER else "?"
    try:
        yield f"{SERVER}{joiner}options={quote(f'-csearch_path={name}')}"
    finally:
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def _gateway_rows(name: str, store: Store, seconds: float, progress: Progress) -> list[Row]:
    from xconduit.app import build_gateway
    from xconduit.serving import serve_in_thread

    task = progress.add_task(f"pg-ingest: {name}", total=2 + len(SHAPES))
    with tempfile.TemporaryDirectory(prefix="xconduit-bench-") as folder:
        gateway = build_gateway(demo_settings(), workdir=Path(folder), delivery=False, store=store)
        gateway.start()
        try:
            with serve_in_thread(gateway.app) as url:
                _measure(url, "/v1/batch", BATCH, 4, 1.0)  # warm-up
                own, server = time.process_time(), _postgres_cpu()
                batch, _, batch_p99 = _measure(url, "/v1/batch", BATCH, 4, seconds)
                events = batch * seconds
                collector_us = (time.process_time() - own) / events * 1e6
                server_us = (_postgres_cpu() - server) / events * 1e6
                progress.advance(task)
                _, track, track_p99 = _measure(url, "/v1/track", 1, 64, seconds)
                progress.advance(task)
                shapes = []
                for shape in SHAPES:
                    server = _postgres_cpu()
                    rate, cpu = measure_processes(url, "/v1/batch", BATCH, seconds, shape=shape)
                    pg = (_postgres_cpu() - server) / max(rate * seconds, 1) * 1e6
                    shapes.append(_shape_row(name, shape, rate, cpu, pg))
                    progress.advance(task)
        finally:
            gateway.stop()
            progress.remove_task(task)
    cost = Row(
        benchmark="pg-ingest",
        case=f"CPU per event, ingest-batch, {name}",
        value=collector_us,
        unit="µs collector",
        note=(
            f"+ {server_us:.0f} µs PostgreSQL (its local processes)"
            if name == "postgresql" and server_us > 0
            else "SQLite: in the collector's process"
        ),
    )
    sizing = []
    if name == "postgresql" and server_us > 0:
        sizing.append(
            Row(
                benchmark="pg-ingest",
                case="cores for 30,000 events/s at that CPU per event",
                value=(collector_us + server_us) * 30_000 / 1e6,
                unit="cores",
                note=f"collectors + PostgreSQL, before the load; this machine has {os.cpu_count()}",
            )
        )
    return [
        cost,
        *sizing,
        *shapes,
        Row(
            benchmark="pg-ingest",
            case=f"ingest-batch, {name}",
            value=batch,
            unit="events/s",
            target="≥ 30,000" if name == "postgresql" else "",
            ok=batch >= 30_000 if name == "postgresql" else None,
            note=f"p99 {batch_p99:.0f} ms",
        ),
        Row(
            benchmark="pg-ingest",
            case=f"ingest-track, {name}",
            value=track,
            unit="req/s",
            note=f"p99 {track_p99:.0f} ms at saturation",
        ),
    ]


def _shape_row(name: str, shape: str, rate: float, collector: float, server: float) -> Row:
    """The collector's CPU per event of one shape (and PostgreSQL's, on PostgreSQL)."""
    on_pg = name == "postgresql" and server > 0
    return Row(
        benchmark="pg-ingest",
        case=f"CPU per event, {shape}, {name}",
        value=collector,
        unit="µs collector",
        target=f"≤ {CPU_GOAL_US:g}",
        ok=collector <= CPU_GOAL_US,
        note=(f"+ {server:.0f} µs PostgreSQL (goal ≤ 15); " if on_pg else "")
        + f"{rate:,.0f} events/s, {CLIENT_PROCESSES} keep-alive client processes",
    )


def _postgres_cpu() -> float:
    """CPU seconds used so far by this machine's PostgreSQL server processes (0 when the server
    is elsewhere or /proc is not readable): what the database spends per event, for sizing."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
        except OSError:
            continue  # gone, or not ours to read
        if fields[0].endswith("(postgres"):
            values = fields[1].split()
            # utime, stime, and the reaped children's (closed connections' backends)
            total += sum(int(v) for v in values[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def _floor(count: int) -> float:
    """Rows/s psycopg alone COPYs into the outbox tables (one event, one job per row)."""
    import psycopg

    from xconduit.outbox.postgres import PostgresStore

    with pg_schema() as url:
        PostgresStore(url).close()  # the schema
        payload = b'{"conversion_time":"2024-05-01T12:00:00.000Z","event_id":"ol288"}' * 3
        with psycopg.connect(url) as conn:
            start = time.perf_counter()
            for first in range(0, count, 5000):
                numbers = range(first, min(first + 5000, count))
                with conn.transaction():
                    with conn.cursor().copy(
                        "COPY received_events (source, message_id, received_at) FROM STDIN"
                    ) as copy:
                        for n in numbers:
                            copy.write_row(("bench", f"m{n}", 1.0))
                    with conn.cursor().copy(
                        "COPY job_payloads (id, destination, account_id, pixel_id, message_id, "
                        "conversion_id, payload) FROM STDIN"
                    ) as copy:
                        for n in numbers:
                            copy.write_row((n, "shop", "a", "p", f"m{n}", f"c{n}", payload))
                    with conn.cursor().copy(
                        "COPY job_state (id, destination, status, attempts, created_at, "
                        "next_attempt_at) FROM STDIN"
                    ) as copy:
                        for n in numbers:
                            copy.write_row((n, "shop", "pending", 0, 1.0, 1.0))
            return count / (time.perf_counter() - start)


def _store_commits(count: int) -> float:
    """Events/s `PostgresStore.commit_events` takes in (one job each, 5,000 per call as the
    floor's transactions): the commit path without HTTP, parsing or mapping."""
    from xconduit.bench.deliver import _backlog
    from xconduit.outbox.postgres import PostgresStore

    with pg_schema() as url:
        store = PostgresStore(url)
        start = time.perf_counter()
        _backlog(store, count, chunk=5000)
        elapsed = time.perf_counter() - start
        store.close()
    return count / elapsed


@benchmark("pg-ingest")
def run_pg_ingest(progress: Progress, scale: float) -> list[Row]:
    from xconduit.outbox.postgres import PostgresStore
    from xconduit.outbox.sqlite import SqliteStore

    seconds = max(MIN_SECONDS, 10.0 * scale)
    rows: list[Row] = []
    with pg_schema() as url:
        rows += _gateway_rows("postgresql", PostgresStore(url), seconds, progress)
    with tempfile.TemporaryDirectory(prefix="xconduit-bench-") as folder:
        sqlite = SqliteStore(Path(folder) / "outbox.db")
        rows += _gateway_rows("sqlite", sqlite, seconds, progress)
    floor = _floor(max(20_000, int(200_000 * scale)))
    commits = _store_commits(max(20_000, int(200_000 * scale)))
    rows.append(
        Row(
            benchmark="pg-ingest",
            case="floor: COPY of the same rows, psycopg alone",
            value=floor,
            unit="events/s",
            note="no HTTP, no parsing, no mapping",
        )
    )
    rows.append(
        Row(
            benchmark="pg-ingest",
            case="PostgresStore.commit_events of the same rows",
            value=commits,
            unit="events/s",
            note=f"{commits / floor:.0%} of the floor",
        )
    )
    return rows


def _collectors(url: str, processes: int, seconds: float) -> float:
    """`/v1/batch` events/s of `serve --workers processes --no-delivery` on `url`."""
    port = _free_port()
    order_event = DEMO_EVENTS["Order Completed"]  # the same mapping as pg-ingest's demo settings
    with tempfile.TemporaryDirectory(prefix="xconduit-bench-") as folder:
        config = Path(folder) / "xconduit.toml"
        config.write_text(
            f'[server]\nstore = "{url}"\n[x]\napi = "http://127.0.0.1:9"\n'
            f'[[sources]]\nname = "bench"\nwrite_keys = ["{DEMO_WRITE_KEY}"]\n'
            f'[[conversions]]\nname = "shop"\naccount_id = "{DEMO_ACCOUNT_ID}"\n'
            f'pixel_id = "{DEMO_PIXEL_ID}"\nevents = {{ "Order Completed" = "{order_event}" }}\n'
        )
        serve = [sys.executable, "-m", "xconduit", "serve", "--config", str(config)]
        serve += ["--listen", f"127.0.0.1:{port}", "--workers", str(processes), "--no-delivery"]
        child = subprocess.Popen(serve, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, child)
            time.sleep(1.0)  # every process up
            _measure(base, "/v1/batch", BATCH, 4 * processes, 1.0)
            events, _, _ = _measure(base, "/v1/batch", BATCH, 4 * processes, seconds)
            return events
        finally:
            child.terminate()
            child.wait(60)


def _wait_ready(base: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and child.poll() is None:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the collectors did not start")


@benchmark("pg-collectors")
def run_pg_collectors(progress: Progress, scale: float) -> list[Row]:
    seconds = max(MIN_SECONDS, 10.0 * scale)
    counts = [1, 2, 4]
    task = progress.add_task("pg-collectors: events/s per collector processes", total=len(counts))
    rows = []
    cores = os.cpu_count() or 1
    for processes in counts:
        with pg_schema() as url:
            rate = _collectors(url, processes, seconds)
        progress.advance(task)
        rows.append(
            Row(
                benchmark="pg-collectors",
                case=f"{processes} collector process(es)",
                value=rate,
                unit="events/s",
                note=f"{cores} cores shared with PostgreSQL and the generator",
            )
        )
    progress.remove_task(task)
    return rows
