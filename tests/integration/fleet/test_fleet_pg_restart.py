"""PostgreSQL restarted mid-run (a throwaway cluster of the test's own): collectors answer 503
while it is down, never 200; no acknowledged event is lost; the collector and the worker carry
on by themselves, without being restarted."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fleet import Generator, Processes, sandbox, wait_delivered, write_config
from throwaway_pg import throwaway_cluster

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

EVENTS = 6000


def test_a_database_restart_loses_nothing_and_needs_no_process_restart(tmp_path: Path) -> None:
    with (
        throwaway_cluster() as cluster,
        sandbox(events=10**6, window=60.0) as x_url,
    ):
        config = write_config(tmp_path, store=cluster.url, x_url=x_url, events=10**6, window=60)
        fleet = Processes(config)
        try:
            collectors = [fleet.collector(), fleet.collector()]
            worker = fleet.worker()
            generator = Generator([url for _, url in collectors], EVENTS, per_request=50)
            generator.thread.start()
            while len(generator.acked) < EVENTS // 3:
                time.sleep(0.05)

            cluster.stop()
            acked_before = len(generator.acked)
            time.sleep(2.0)  # the generator keeps sending while the database is down
            acked_while_down = len(generator.acked) - acked_before
            cluster.start()

            generator.thread.join(timeout=300)
            got = wait_delivered(x_url, generator.acked, timeout=120)
            alive = [proc.poll() is None for proc, _ in collectors] + [worker.poll() is None]
        finally:
            fleet.stop_all()

        assert acked_while_down == 0  # nothing got a 200 while it could not be committed
        assert generator.statuses[503] > 0
        assert set(generator.statuses) <= {200, 503}
        assert len(generator.acked) == EVENTS
        missing = generator.acked - {c["conversion_id"] for c in got}
        assert not missing, f"{len(missing)} acknowledged events never reached X"
        assert all(alive), "a process died with the database"
