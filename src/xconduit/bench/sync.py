"""`sync`: Parquet rows to committed delivery jobs (rows/s and peak RSS), beside the floor.

Each case runs `run_sync` in a fresh process on a SQLite outbox, so its peak RSS (from `wait4`) is
the sync's alone; rows/s is measured inside that process around the run. The floor is DuckDB
reading the same file into Arrow batches, nothing else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.progress import Progress

from xconduit.bench.registry import Row, benchmark

ROWS = 1_000_000
TARGET_RATE = 50_000.0
TARGET_RSS_MB = 500.0
CHUNK = 100_000

COLUMNS = {"email": "email", "value": "total", "conversion_id": "order_id", "conversion_time": "ts"}
PROCESSES = max(2, min(4, os.cpu_count() or 1))
CASES: dict[str, tuple[dict[str, str], int]] = {
    "email, value, order id, time": (COLUMNS, 1),
    "+ unique phone numbers": ({**COLUMNS, "phone": "phone"}, 1),
    f"email…, {PROCESSES} mapping processes": (COLUMNS, PROCESSES),
}


def write_orders(path: Path, rows: int) -> None:
    """A Parquet file of `rows` orders, written in chunks (flat memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    start = datetime(2026, 1, 1, tzinfo=UTC)
    writer = None
    try:
        for first in range(0, rows, CHUNK):
            ids = range(first, min(first + CHUNK, rows))
            table = pa.table(
                {
                    "order_id": [f"order-{i}" for i in ids],
                    "email": [f"buyer{i}@example.com" for i in ids],
                    "phone": [f"+1 415 {i // 10000 % 1000:03d} {i % 10000:04d}" for i in ids],
                    "total": pa.array([(i % 50_000) / 100 for i in ids], pa.float64()),
                    "ts": [start + timedelta(seconds=i) for i in ids],
                }
            )
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def child(parquet: str, outbox: str, case: str) -> None:
    """Run one case in this process and print `{"rows", "seconds", "enqueued"}` as JSON."""
    from xconduit.config import Settings
    from xconduit.outbox.open import open_store
    from xconduit.outbox.syncs import SyncStore
    from xconduit.sources import open_source
    from xconduit.sync import run_sync

    started = time.perf_counter()
    if case == "floor":
        rows = 0
        with open_source(parquet) as src:
            for batch in src.batches():
                rows += batch.num_rows
        print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started, "enqueued": 0}))
        return
    settings = Settings.model_validate(
        {
            "conversions": [
                {
                    "name": "shop",
                    "account_id": "18ce552mlaq",
                    "pixel_id": "oka17",
                    "events": {"Order Completed": "tw-oka17-ol288"},
                }
            ],
            "syncs": [
                {
                    "name": "orders",
                    "destination": "shop",
                    "source": parquet,
                    "event": "Order Completed",
                    "columns": CASES[case][0],
                    "workers": CASES[case][1],
                }
            ],
        }
    )
    store = open_store(f"sqlite:///{outbox}", busy_timeout=10.0, bulk=True)  # as `sync` does
    assert isinstance(store, SyncStore)
    result = run_sync(settings, "orders", store, reports=Path(outbox).parent / "reports")
    store.close()
    if result.error or result.enqueued != result.rows:
        raise SystemExit(f"sync bench: {result.error or 'rows were rejected'}")
    print(json.dumps({"rows": result.rows, "seconds": result.seconds, "enqueued": result.enqueued}))


def _measure(parquet: Path, folder: Path, case: str) -> tuple[float, float, float]:
    """(rows/s, rows per CPU-second, peak RSS in MB) of one case in a fresh process."""
    outbox = folder / f"outbox-{abs(hash(case))}.db"
    code = "import sys; from xconduit.bench.sync import child; child(*sys.argv[1:])"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(parquet), str(outbox), case],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"sync bench case {case!r} failed (exit {proc.returncode})")
    figures = json.loads(output.strip().splitlines()[-1])
    cpu = usage.ru_utime + usage.ru_stime  # every thread of the child, start-up included
    rows = figures["rows"]
    return rows / figures["seconds"], rows / cpu, usage.ru_maxrss / 1024  # KiB on Linux


@benchmark("sync")
def run_sync_bench(progress: Progress, scale: float) -> list[Row]:
    rows = max(10_000, int(ROWS * scale))
    task = progress.add_task(f"sync: writing {rows:,} Parquet rows", total=len(CASES) + 2)
    out: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="xconduit-bench-sync-") as tmp:
        folder = Path(tmp)
        parquet = folder / "orders.parquet"
        write_orders(parquet, rows)
        os.sync()  # the file's write-back is not the sync's to pay (its commits wait on fsync)
        progress.advance(task)
        for case in CASES:
            progress.update(task, description=f"sync: {case}")
            rate, per_cpu, rss = _measure(parquet, folder, case)
            first = case == next(iter(CASES))
            out.append(
                Row(
                    benchmark="sync",
                    case=f"{rows:,} rows: {case}",
                    value=rate,
                    unit="rows/s",
                    target=f"≥ {TARGET_RATE:,.0f}" if first else "",
                    ok=rate >= TARGET_RATE if first else None,
                )
            )
            out.append(
                Row(
                    benchmark="sync",
                    case=f"per CPU-second: {case}",
                    value=per_cpu,
                    unit="rows/s",
                    note="all threads; less sensitive to a busy machine",
                )
            )
            out.append(
                Row(
                    benchmark="sync",
                    case=f"peak RSS: {case}",
                    value=rss,
                    unit="MB",
                    target=f"≤ {TARGET_RSS_MB:,.0f}",
                    ok=rss <= TARGET_RSS_MB,
                )
            )
            progress.advance(task)
        progress.update(task, description="sync: floor (DuckDB reads the file)")
        rate, _, _ = _measure(parquet, folder, "floor")
        out.append(
            Row(
                benchmark="sync",
                case="floor: DuckDB reads the file alone",
                value=rate,
                unit="rows/s",
                note="same file, Arrow batches",
            )
        )
        progress.advance(task)
    return out
