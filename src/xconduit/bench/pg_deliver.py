"""`pg-deliver`: claim + deliver a backlog on PostgreSQL with 1, 2 and 4 worker processes.

Each process builds its own store, X client and delivery service (one worker loop), as
`xconduit worker` does; they share one PostgreSQL schema and one sandbox process with no rate
limit. The clock starts when every process is ready and stops when the destination has no
active job left; the store must then hold every job as delivered.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from multiprocessing.synchronize import Event

import httpx
from rich.progress import Progress

from xconduit.bench.deliver import SHOP, _backlog, _client, sandbox_process
from xconduit.bench.postgres import pg_schema
from xconduit.bench.registry import Row, benchmark
from xconduit.config import DeliverySettings
from xconduit.outbox import JobStatus

_SETTINGS = DeliverySettings(events_per_window=10**9, requests_per_window=10**9, workers=1)


def _worker(url: str, x_url: str, ready: Event, go: Event, stop: Event) -> None:
    """One worker process: its own store and service, started on `go`, stopped on `stop`."""
    from xconduit.delivery import DeliveryService
    from xconduit.outbox.postgres import PostgresStore

    store = PostgresStore(url)
    with httpx.Client(timeout=30) as http:
        client = _client(http, x_url)
        service = DeliveryService(
            store=store, client=client, delivery=_SETTINGS, destinations=[SHOP]
        )
        ready.set()
        go.wait()
        service.start()
        stop.wait()
        service.stop(timeout=30)
    store.close()


def _deliver(url: str, x_url: str, processes: int, count: int, progress: Progress) -> float:
    """Seconds `processes` worker processes take to deliver a backlog of `count` jobs."""
    from xconduit.outbox.postgres import PostgresStore

    store = PostgresStore(url)
    _backlog(store, count)
    spawn = multiprocessing.get_context("spawn")  # no fork of a process holding threads
    go, stop = spawn.Event(), spawn.Event()
    readies = [spawn.Event() for _ in range(processes)]
    children = [
        spawn.Process(target=_worker, args=(url, x_url, ready, go, stop)) for ready in readies
    ]
    task = progress.add_task(f"pg-deliver: {processes} worker process(es)", total=count)
    try:
        for child in children:
            child.start()
        for ready, child in zip(readies, children, strict=True):
            while not ready.wait(0.5):
                if not child.is_alive():
                    raise RuntimeError("a worker process did not start")
        start = time.perf_counter()
        go.set()
        while store.next_due_at(SHOP.name) is not None:  # the partial index: cheap to ask
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        progress.update(task, completed=count)
    finally:
        stop.set()
        go.set()
        for child in children:
            child.join(60)
        progress.remove_task(task)
    delivered = store.counts().get(SHOP.name, {}).get(JobStatus.DELIVERED, 0)
    store.close()
    if delivered != count:
        raise RuntimeError(f"the store holds {delivered:,} delivered jobs, not {count:,}")
    return elapsed


@benchmark("pg-deliver")
def run_pg_deliver(progress: Progress, scale: float) -> list[Row]:
    count = max(30_000, int(100_000 * scale))  # a few seconds even at the smallest scale
    cores = os.cpu_count() or 1
    rows = []
    with sandbox_process("--rate-limit-events", "0") as x_url:
        for processes in (1, 2, 4):
            with pg_schema() as url:
                elapsed = _deliver(url, x_url, processes, count, progress)
            rows.append(
                Row(
                    benchmark="pg-deliver",
                    case=f"claim + deliver, {processes} worker process(es), {count:,} backlog",
                    value=count / elapsed,
                    unit="events/s",
                    note=f"{cores} cores shared with PostgreSQL and the sandbox",
                )
            )
    return rows
