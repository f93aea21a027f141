"""Two `xconduit worker` processes on one SQLite file share each account's rate budget: X (a
standalone sandbox enforcing the same limit) never sees the limit passed in any window."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fleet import (
    Generator,
    Processes,
    busiest_window,
    duplicates,
    sandbox,
    too_many_requests,
    wait_delivered,
    write_config,
)

pytestmark = pytest.mark.slow

LIMIT = 150
WINDOW = 2.0
EVENTS = 900


def test_two_workers_on_one_sqlite_file_never_pass_the_budget_together(tmp_path: Path) -> None:
    with sandbox(events=LIMIT, window=WINDOW) as x_url:
        config = write_config(
            tmp_path,
            store=f"sqlite:///{tmp_path / 'outbox.db'}",
            x_url=x_url,
            events=LIMIT,
            window=WINDOW,
        )
        fleet = Processes(config)
        try:
            _, url = fleet.collector()
            generator = Generator([url], EVENTS)
            generator.run()  # all committed before delivery starts: both workers find a backlog
            fleet.worker()
            fleet.worker()
            got = wait_delivered(x_url, generator.acked, timeout=120)
        finally:
            fleet.stop_all()

        assert len(generator.acked) == EVENTS
        assert generator.acked <= {c["conversion_id"] for c in got}
        assert too_many_requests(x_url) == 0
        assert busiest_window(got, WINDOW) <= LIMIT
        assert duplicates(got) == 0
