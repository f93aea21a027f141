"""Outbox benchmarks: commit throughput and group-commit latency on SQLite.

    python -m xconduit.outbox.bench [--seconds S] [DIR]

Each figure is measured on a new database file in DIR (default: a temporary folder; put it on
the disk you will run on, since fsync speed is what is measured).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from xconduit.outbox.group_commit import GroupCommitter
from xconduit.outbox.jobs import IncomingEvent, NewJob
from xconduit.outbox.sqlite import SqliteStore

# A conversion of typical size: two hashed identifiers, a value, a few contents.
_PAYLOAD = (
    b'{"conversion_time":"2026-01-01T00:00:00.000Z","event_id":"tw-oka17-ol288",'
    b'"identifiers":[{"hashed_email":"'
    + b"a" * 64
    + b'"},{"hashed_phone_number":"'
    + b"b" * 64
    + b'"}],"value":42.5,"price_currency":"USD","number_items":2,'
    b'"conversion_id":"order-%d","contents":[{"content_id":"sku-1","num_items":2}]}'
)
_counter = itertools.count()


def _events(count: int) -> list[IncomingEvent]:
    events = []
    for _ in range(count):
        n = next(_counter)
        job = NewJob(
            destination="shop",
            account_id="18ce552mlaq",
            pixel_id="oka17",
            message_id=f"m{n}",
            conversion_id=f"order-{n}",
            payload=_PAYLOAD % n,
        )
        events.append(IncomingEvent(source="website", message_id=f"m{n}", jobs=(job,)))
    return events


@dataclass(frozen=True, kw_only=True, slots=True)
class CommitThroughput:
    synchronous: str
    batch_size: int
    events_per_second: float
    p99_ms: float


@dataclass(frozen=True, kw_only=True, slots=True)
class GroupLatency:
    synchronous: str
    submitters: int
    events_per_second: float
    p50_ms: float
    p99_ms: float
    events_per_transaction: float


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else 0.0


def commit_throughput(
    folder: Path, *, synchronous: str, batch_size: int = 100, seconds: float = 3.0
) -> CommitThroughput:
    """`commit_events` with `batch_size` events per call, back to back, for `seconds`."""
    store = SqliteStore(folder / f"throughput-{synchronous}.db", synchronous=synchronous)
    timings: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        events = _events(batch_size)
        t0 = time.perf_counter()
        store.commit_events(events, now=time.time())
        timings.append(time.perf_counter() - t0)
    store.close()
    return CommitThroughput(
        synchronous=synchronous,
        batch_size=batch_size,
        events_per_second=len(timings) * batch_size / sum(timings),
        p99_ms=_p(timings, 99),
    )


def group_latency(
    folder: Path, *, synchronous: str, submitters: int = 50, seconds: float = 3.0
) -> GroupLatency:
    """`submitters` concurrent callers, each submitting 1 event at a time through one
    `GroupCommitter`; the latency of each `submit`."""
    store = SqliteStore(folder / f"group-{synchronous}.db", synchronous=synchronous)
    committer = GroupCommitter(store)
    committer.start()
    timings: list[float] = []

    async def submitter(deadline: float) -> None:
        while time.perf_counter() < deadline:
            events = _events(1)
            t0 = time.perf_counter()
            await committer.submit(events)
            timings.append(time.perf_counter() - t0)

    async def run() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(submitter(started + seconds) for _ in range(submitters)))
        return time.perf_counter() - started

    elapsed = asyncio.run(run())
    committer.stop()
    store.close()
    return GroupLatency(
        synchronous=synchronous,
        submitters=submitters,
        events_per_second=len(timings) / elapsed,
        p50_ms=_p(timings, 50),
        p99_ms=_p(timings, 99),
        events_per_transaction=len(timings) / max(committer.transactions, 1),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("folder", nargs="?", type=Path, default=None)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        folder = Path(tmp)
        for sync in ("FULL", "NORMAL"):
            t = commit_throughput(folder, synchronous=sync, seconds=args.seconds)
            print(
                f"commit_events  sync={sync:<6} batch={t.batch_size}  "
                f"{t.events_per_second:>9,.0f} events/s  p99 {t.p99_ms:.2f} ms per commit"
            )
        for sync in ("FULL", "NORMAL"):
            g = group_latency(folder, synchronous=sync, seconds=args.seconds)
            print(
                f"group commit   sync={sync:<6} {g.submitters} submitters x 1 event  "
                f"{g.events_per_second:>9,.0f} events/s  p50 {g.p50_ms:.2f} ms  "
                f"p99 {g.p99_ms:.2f} ms  {g.events_per_transaction:.1f} events/commit"
            )


if __name__ == "__main__":
    main()
