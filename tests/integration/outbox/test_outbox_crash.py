"""kill -9 at a random moment: every commit that returned is there after a restart, and every
job acked as delivered stays delivered."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.outbox_events import one_job_events
from xconduit.outbox import JobStatus
from xconduit.outbox.sqlite import SqliteStore

COMMITTER = textwrap.dedent(
    """
    import asyncio, sys, time
    from xconduit.outbox import IncomingEvent, NewJob
    from xconduit.outbox.group_commit import GroupCommitter
    from xconduit.outbox.sqlite import SqliteStore

    path, mode, sync = sys.argv[1:4]
    store = SqliteStore(path, synchronous=sync)

    def event(n):
        job = NewJob(destination="shop", account_id="a", pixel_id="p", message_id=f"m{n}",
                     conversion_id=f"c{n}", payload=b'{"n":%d}' % n)
        return IncomingEvent(source="website", message_id=f"m{n}", jobs=(job,))

    print("ready", flush=True)
    if mode == "direct":
        n = 0
        while True:
            batch = [event(n + i) for i in range(10)]
            store.commit_events(batch, now=time.time())
            print(" ".join(e.message_id for e in batch), flush=True)
            n += 10
    else:
        committer = GroupCommitter(store)
        committer.start()

        async def submitter(k):
            n = k
            while True:
                await committer.submit([event(n)])
                print(f"m{n}", flush=True)
                n += 50

        async def main():
            await asyncio.gather(*(submitter(k) for k in range(50)))

        asyncio.run(main())
    """
)

WORKER = textwrap.dedent(
    """
    import sys
    from xconduit.outbox.sqlite import SqliteStore

    store = SqliteStore(sys.argv[1])
    print("ready", flush=True)
    now = 1000.0
    while batch := store.claim_batch("shop", limit=10, now=now, lease_seconds=60.0):
        ids = [job.id for job in batch]
        store.mark_delivered(ids, now=now)
        print(" ".join(map(str, ids)), flush=True)
        now += 0.001
    print("done", flush=True)
    """
)


def run_and_kill(args: list[str], after_lines: int) -> list[str]:
    """Start a child and kill -9 it once it has printed `after_lines` lines (it goes on working
    while we read, so the kill lands at an arbitrary point); every line it printed."""
    with subprocess.Popen(
        [sys.executable, "-c", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready", "the child failed to start"
        read = [child.stdout.readline() for _ in range(after_lines)]
        os.kill(child.pid, signal.SIGKILL)
        out = child.stdout.read()  # the same buffered reader: nothing read ahead is lost
        assert child.wait(timeout=30) == -signal.SIGKILL
    # Only whole lines count: the last piece of the output may be cut by the kill.
    complete = [line for line in read if line.endswith("\n")] + out.split("\n")[:-1]
    return [line.strip() for line in complete]


@pytest.mark.parametrize("mode", ["direct", "group"])
@pytest.mark.parametrize("sync", ["FULL", "NORMAL"])
@pytest.mark.parametrize("attempt", range(3))
def test_acknowledged_commits_survive_kill_9(
    tmp_path: Path, mode: str, sync: str, attempt: int
) -> None:
    rng = random.Random(f"{mode}{sync}{attempt}")
    path = tmp_path / "q.db"
    committed: set[str] = set()
    for _round in range(2):  # the second round restarts on the crashed database
        lines = run_and_kill([COMMITTER, str(path), mode, sync], rng.randint(1, 300))
        committed.update(word for line in lines for word in line.split())

    assert committed, "the child never committed anything before it was killed"
    store = SqliteStore(path)
    assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    seen = {row[0] for row in store._conn.execute("SELECT message_id FROM received_events")}
    queued = {row[0] for row in store._conn.execute("SELECT message_id FROM delivery_jobs")}
    assert committed <= seen
    assert committed <= queued
    assert seen == queued  # an event is never remembered without its job, nor the reverse
    store.close()


@pytest.mark.parametrize("attempt", range(3))
def test_delivered_jobs_are_never_claimed_again_after_kill_9(tmp_path: Path, attempt: int) -> None:
    path = tmp_path / "q.db"
    store = SqliteStore(path)
    events = one_job_events(20_000)
    store.commit_events(events, now=0.0)
    store.close()

    lines = run_and_kill([WORKER, str(path)], random.Random(attempt).randint(1, 500))
    assert "done" not in lines, "the worker finished before the kill; make the queue longer"
    delivered = {int(word) for line in lines for word in line.split()}
    assert delivered

    store = SqliteStore(path)
    recovered = store.claim_batch("shop", limit=20_000, now=10_000.0, lease_seconds=60.0)
    counts = store.counts()["shop"]
    store.close()

    assert delivered.isdisjoint(job.id for job in recovered)
    assert counts[JobStatus.DELIVERED] >= len(delivered)
    # nothing lost: what was not delivered (pending, or in flight at the kill) comes back
    assert counts[JobStatus.DELIVERED] + len(recovered) == 20_000
