"""What only the PostgreSQL store does: claims side by side with SKIP LOCKED, leases of a killed
worker process coming back, and a bulk commit."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from tests.support.outbox_events import one_job_events
from xconduit.outbox import JobStatus
from xconduit.outbox.postgres import PostgresStore

pytestmark = pytest.mark.postgres


def test_separate_pools_never_claim_the_same_job(pg_url: str) -> None:
    seed = PostgresStore(pg_url)
    seed.commit_events(one_job_events(3000), now=0.0)
    stores = [PostgresStore(pg_url, max_connections=1) for _ in range(4)]  # like 4 processes
    claimed: list[list[int]] = [[] for _ in stores]
    start = threading.Barrier(len(stores))

    def worker(store: PostgresStore, mine: list[int]) -> None:
        start.wait()
        while batch := store.claim_batch("shop", limit=50, now=1.0, lease_seconds=60.0):
            mine.extend(job.id for job in batch)
            time.sleep(0.005)  # sending to X
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
    assert sum(1 for mine in claimed if mine) >= 2
    assert seed.counts() == {"shop": {JobStatus.DELIVERED: 3000}}
    for store in [seed, *stores]:
        store.close()


CLAIMER = textwrap.dedent(
    """
    import sys, time
    from xconduit.outbox.postgres import PostgresStore
    store = PostgresStore(sys.argv[1])
    jobs = store.claim_batch("shop", limit=100, now=time.time(), lease_seconds=2.0)
    print(len(jobs), flush=True)
    time.sleep(600)  # "sending": killed before any ack
    """
)


def test_jobs_of_a_killed_worker_come_back_when_the_lease_expires(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    store.commit_events(one_job_events(100), now=time.time())
    with subprocess.Popen(
        [sys.executable, "-c", CLAIMER, pg_url], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "100"
        proc.send_signal(signal.SIGKILL)

    assert store.claim_batch("shop", limit=100, now=time.time(), lease_seconds=60.0) == []
    later = time.time() + 2.5  # the clock is passed in: no waiting for the lease
    again = store.claim_batch("shop", limit=100, now=later, lease_seconds=60.0)
    assert len(again) == 100
    assert {job.attempts for job in again} == {2}
    store.close()


def test_a_large_commit_goes_in_whole_with_duplicates_refused(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    events = one_job_events(20_000)
    assert store.commit_events(events[:10], now=1.0) == [True] * 10
    accepted = store.commit_events(events, now=2.0)

    assert accepted == [False] * 10 + [True] * 19_990
    assert store.counts() == {"shop": {JobStatus.PENDING: 20_000}}
    store.close()


def test_connections_the_server_closed_while_idle_are_replaced_not_used(pg_url: str) -> None:
    # A failover, a restart or an idle timeout closes pooled connections while nobody uses them;
    # the next commits must get fresh ones, not fail on the dead ones.
    import psycopg

    name = f"xc-idle-{time.time_ns()}"
    store = PostgresStore(f"{pg_url}&application_name={name}", max_connections=3)
    store.commit_events(one_job_events(10), now=0.0)
    with psycopg.connect(pg_url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s",
            (name,),
        ).fetchone()
    assert killed is not None
    assert killed[0] >= 1
    time.sleep(0.2)  # the server's goodbye reaches the idle sockets

    for n in range(5):
        events = one_job_events(10, source=f"web{n}")
        assert store.commit_events(events, now=1.0) == [True] * 10
    assert store.counts() == {"shop": {JobStatus.PENDING: 60}}
    store.close()
