"""PostgreSQL restarted mid-run (a throwaway cluster of the test's own): collectors answer 503
while it is down, never 200; no acknowledged event is lost; the collector and the worker carry
on by themselves, without being restarted."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.fleet import Generator, Processes, sandbox, wait_delivered, write_config
from tests.support.throwaway_pg import throwaway_cluster

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
            fleet.wait_logged(worker, "xconduit worker: delivering")
            urls = [url for _, url in collectors]
            # Paced (≥ 6 s in all), so the database stops with two thirds still to send.
            generator = Generator(urls, EVENTS, per_request=50, interval=0.05)
            generator.thread.start()
            # Mid-run: collectors committing and the worker delivering when the database stops.
            while len(generator.acked) < EVENTS // 3:
                time.sleep(0.05)

            cluster.stop()
            acked_before = len(generator.acked)
            # The generator keeps sending while the database is down, until a collector has
            # given up on a commit (a request may also wait for the database to come back).
            down_until = time.monotonic() + 20
            while not generator.statuses[503] and time.monotonic() < down_until:
                time.sleep(0.1)
            time.sleep(1.0)
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
        assert all(alive), "a process died with the database"
        assert not missing, f"{len(missing)} acknowledged events never reached X"


def test_a_worker_started_before_its_database_waits_for_it(tmp_path: Path) -> None:
    """Started together (compose, systemd): the worker waits for the database, then delivers."""
    with (
        throwaway_cluster() as cluster,
        sandbox(events=10**6, window=60.0) as x_url,
    ):
        config = write_config(tmp_path, store=cluster.url, x_url=x_url, events=10**6, window=60)
        fleet = Processes(config)
        try:
            _, url = fleet.collector()
            generator = Generator([url], 500, per_request=50)
            generator.run()
            cluster.stop()
            worker = fleet.worker()
            time.sleep(3.0)
            waited = worker.poll() is None
            cluster.start()
            got = wait_delivered(x_url, generator.acked, timeout=60)
        finally:
            fleet.stop_all()

        assert waited, "the worker exited instead of waiting for its database"
        assert len(generator.acked) == 500
        assert generator.acked <= {c["conversion_id"] for c in got}
