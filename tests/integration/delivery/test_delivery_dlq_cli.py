"""`xconduit dlq list|replay|purge` in a subprocess, on a real SQLite outbox."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.delivery_helpers import DESTINATION, conversion, enqueue
from xconduit.outbox import JobStatus
from xconduit.outbox.sqlite import SqliteStore

REASON = "X 400 INVALID_PARAMETER: hashed_email (x) is not a valid SHA-256 hash"


def dlq(config: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "xconduit", "dlq", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


@pytest.mark.slow
def test_list_replay_and_purge_dead_letters(tmp_path: Path) -> None:
    db = tmp_path / "outbox.db"
    config = tmp_path / "xconduit.toml"
    config.write_text(f'[server]\nstore = "sqlite:///{db}"\n')
    store = SqliteStore(db)
    now = time.time()
    enqueue(store, [conversion(n) for n in range(3)], now=now)
    jobs = store.claim_batch(DESTINATION, limit=3, now=now, lease_seconds=60)
    store.dead_letter([(job.id, REASON) for job in jobs], now=now)
    ids = [job.id for job in jobs]

    listed = dlq(config, "list")
    assert "order-0" in listed
    assert "order-2" in listed
    assert "INVALID_PARAMETER" in listed
    assert "not a valid SHA-256 hash" in listed

    assert "replayed 1 dead letter(s)" in dlq(config, "replay", "--id", str(ids[0]))
    assert store.counts()[DESTINATION] == {JobStatus.PENDING: 1, JobStatus.DEAD: 2}
    assert "order-0" not in dlq(config, "list", "--destination", DESTINATION)

    assert "purged 1 dead letter(s)" in dlq(config, "purge", "--id", str(ids[1]), "--yes")
    assert "purged 1 dead letter(s)" in dlq(config, "purge", "--yes")
    assert store.counts()[DESTINATION] == {JobStatus.PENDING: 1}
    assert "order-" not in dlq(config, "list")
    store.close()
