"""`audience-diff`: a 10,000,000-member email segment against its delivered members, 1 % churn.

Set-up (not measured): two Parquet snapshots (the previous one, and the current one with 1 % of
the users replaced) and an outbox whose delivered members are the previous snapshot. Measured,
each in a fresh process so its peak RSS is its own: the diff and queue (read + hash the current
snapshot in DuckDB, stream the delivered keys in, anti-join, write the changes to the outbox), and
the floor (DuckDB reading every value of the two snapshots, nothing else).
"""

from __future__ import annotations

import multiprocessing
import resource
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.progress import Progress

from xconduit.bench.registry import Row, benchmark

MEMBERS = 10_000_000
CHURN = 0.01
TARGET_SECONDS = 60.0
TARGET_RSS_MB = 1536.0
_EMAIL = "'user' || i || '@example.com'"
BATCH_ROWS = 100_000


def _snapshots(folder: Path, members: int, churned: int) -> tuple[Path, Path]:
    import duckdb

    previous, current = folder / "previous.parquet", folder / "current.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT {_EMAIL} AS email FROM range({members}) t(i)) "
        f"TO '{previous}' (FORMAT parquet)"
    )
    con.execute(
        f"COPY (SELECT {_EMAIL} AS email FROM range({churned}, {members + churned}) t(i)) "
        f"TO '{current}' (FORMAT parquet)"
    )
    con.close()
    return previous, current


def _delivered_outbox(db: Path, previous: Path) -> None:
    """The outbox as if the previous snapshot had been delivered: its members, sorted by key."""
    import duckdb

    from xconduit.audiences import sqlnorm
    from xconduit.outbox.sqlite import SqliteStore

    store = SqliteStore(db, synchronous="NORMAL")
    store.record_audience(
        name="bench", account_id="18ce552mlaq", audience_id="aud", x_name="x", now=0.0
    )
    store.close()
    con = duckdb.connect()
    sqlnorm.register(con)
    con.execute(f"CREATE VIEW previous AS SELECT * FROM read_parquet('{previous}')")
    hashed = sqlnorm.select_sql({"email": "email"}, "US", "previous")
    reader = con.sql(
        f"SELECT md5(payload) AS k, payload FROM ({hashed}) ORDER BY k"
    ).to_arrow_reader(200_000)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    for batch in reader:
        rows = zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True)
        conn.executemany(
            "INSERT INTO audience_members (audience, user_key, payload) VALUES ('bench', ?, ?)",
            rows,
        )
    conn.execute("COMMIT")
    conn.close()
    con.close()


def _peak_mb() -> float:
    """This process's own peak RSS. Not `ru_maxrss`: Linux carries the parent's peak into a
    forked child, so a child would report the set-up's memory; VmHWM starts anew at exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _diff_and_queue(db: str, current: str, folder: str) -> dict[str, Any]:
    from xconduit.audiences.snapshot import SnapshotDiffer
    from xconduit.config import AudienceSettings
    from xconduit.outbox.sqlite import SqliteStore
    from xconduit.sources import open_source

    audience = AudienceSettings(
        name="bench", account_id="18ce552mlaq", source=current, identifiers={"email": "email"}
    )
    start = time.perf_counter()
    store = SqliteStore(db, synchronous="NORMAL")
    with SnapshotDiffer(audience, workdir=Path(folder)) as differ:
        differ.start_delivered(store)
        with open_source(current, query="select email from source", batch_rows=BATCH_ROWS) as src:
            differ.load(src.batches())
        loaded = time.perf_counter()
        diff = differ.compare(store)
        compared = time.perf_counter()
        queued = store.replace_audience_changes("bench", differ.changes(), now=time.time())
    store.close()
    end = time.perf_counter()
    return {
        "seconds": end - start,
        "phases": f"read+hash {loaded - start:.1f} s, compare {compared - loaded:.1f} s, "
        f"queue {end - compared:.1f} s",
        "rss": _peak_mb(),
        "entering": diff.entering,
        "exiting": diff.exiting,
        "queued": queued,
    }


def _floor(previous: str, current: str) -> dict[str, Any]:
    import duckdb

    start = time.perf_counter()
    con = duckdb.connect()
    for path in (previous, current):
        con.execute(f"SELECT sum(length(email)) FROM read_parquet('{path}')").fetchall()
    con.close()
    return {"seconds": time.perf_counter() - start, "rss": _peak_mb()}


def _in_child(fn: Any, *args: Any) -> dict[str, Any]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result: dict[str, Any] = pool.apply(fn, args)
    return result


@benchmark("audience-diff")
def run_audience_diff(progress: Progress, scale: float) -> list[Row]:
    members = max(10_000, int(MEMBERS * scale))
    churned = int(members * CHURN)
    folder = Path(tempfile.mkdtemp(prefix="xconduit-bench-audience-"))
    task = progress.add_task("audience-diff: snapshots", total=4)
    try:
        previous, current = _snapshots(folder, members, churned)
        progress.update(
            task, advance=1, description=f"audience-diff: {members:,} delivered members"
        )
        db = folder / "outbox.db"
        _delivered_outbox(db, previous)
        progress.update(task, advance=1, description="audience-diff: diff and queue")
        measured = _in_child(_diff_and_queue, str(db), str(current), str(folder))
        progress.update(task, advance=1, description="audience-diff: floor")
        floor = _in_child(_floor, str(previous), str(current))
        progress.advance(task)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    exact = measured["entering"] == measured["exiting"] == churned == measured["queued"] / 2
    case = f"{members:,} emails, {churned:,} in + {churned:,} out"
    seconds_target = TARGET_SECONDS * max(scale, 0.01) if scale < 1 else TARGET_SECONDS
    return [
        Row(
            benchmark="audience-diff",
            case=f"diff + queue: {case}",
            value=measured["seconds"],
            unit="s",
            target=f"≤ {seconds_target:,.1f}",
            ok=measured["seconds"] <= seconds_target and exact,
            note="" if exact else "wrong counts",
        ),
        Row(
            benchmark="audience-diff",
            case="diff + queue: where the time went",
            value=measured["seconds"],
            unit="s",
            note=measured["phases"],
        ),
        Row(
            benchmark="audience-diff",
            case="diff + queue: peak RSS",
            value=measured["rss"],
            unit="MB",
            target=f"≤ {TARGET_RSS_MB:,.0f}",
            ok=measured["rss"] <= TARGET_RSS_MB,
        ),
        Row(
            benchmark="audience-diff",
            case="floor: DuckDB reads both snapshots",
            value=floor["seconds"],
            unit="s",
            note=f"peak RSS {floor['rss']:,.0f} MB",
        ),
    ]
