"""Several connections (as several processes would have) claiming from one SQLite file."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests.support.outbox_events import one_job_events
from xconduit.outbox.sqlite import SqliteStore


def test_separate_connections_never_claim_the_same_job(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    seed = SqliteStore(path)
    seed.commit_events(one_job_events(3000), now=0.0)
    stores = [SqliteStore(path) for _ in range(4)]  # one connection each, like 4 processes
    claimed: list[list[int]] = [[] for _ in stores]

    start = threading.Barrier(len(stores))

    def worker(store: SqliteStore, mine: list[int]) -> None:
        start.wait()
        while batch := store.claim_batch("shop", limit=50, now=1.0, lease_seconds=60.0):
            mine.extend(job.id for job in batch)
            time.sleep(0.005)  # sending to X; without it one connection may starve the others
            store.mark_delivered([job.id for job in batch], now=1.0)

    threads = [
        threading.Thread(target=worker, args=(store, mine))
        for store, mine in zip(stores, claimed, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    every = [job_id for mine in claimed for job_id in mine]
    assert len(every) == len(set(every)) == 3000
    assert sum(1 for mine in claimed if mine) >= 2  # the claims really were concurrent
    for store in [seed, *stores]:
        store.close()
