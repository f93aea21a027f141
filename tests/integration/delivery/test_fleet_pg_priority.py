"""Two `xconduit worker` processes on one PostgreSQL database keep the priority order: a backlog
of three windows' budget, page views queued before purchases, reaches X (a standalone sandbox)
with every purchase among the first window's conversions, and never past X's limit."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import orjson
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

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LIMIT = 200
WINDOW = 2.0
EVENTS = 3 * LIMIT
PURCHASES = EVENTS // 10


class PagesThenPurchases(Generator):
    """Page views first (90 %), then purchases (10 %)."""

    def body(self, ids: Sequence[str]) -> bytes:
        batch = []
        for i in ids:
            page = int(i.split("-")[1]) < EVENTS - PURCHASES
            batch.append(
                {
                    "type": "page" if page else "track",
                    "event": None if page else "Order Completed",
                    "name": "Home" if page else None,
                    "userId": f"u-{i}",
                    "messageId": i,
                    "properties": {"order_id": i, "email": f"{i}@example.com"},
                }
            )
        return orjson.dumps(
            {"batch": [{k: v for k, v in e.items() if v is not None} for e in batch]}
        )


def test_two_workers_on_postgresql_send_purchases_first(tmp_path: Path, pg_url: str) -> None:
    with sandbox(events=LIMIT, window=WINDOW) as x_url:
        config = write_config(tmp_path, store=pg_url, x_url=x_url, events=LIMIT, window=WINDOW)
        text = config.read_text().replace(
            "events = {", 'page_event_id = "tw-oka17-ol289"\nevents = {'
        )
        config.write_text(text)
        fleet = Processes(config)
        try:
            _, url = fleet.collector()
            generator = PagesThenPurchases([url], EVENTS, per_request=50)
            generator.run()  # all queued before delivery starts: the backlog is three windows
            fleet.worker()
            fleet.worker()
            got = wait_delivered(x_url, generator.acked, timeout=120)
        finally:
            fleet.stop_all()

        assert len(generator.acked) == EVENTS
        assert generator.acked <= {c["conversion_id"] for c in got}
        purchases = [n for n, c in enumerate(got) if c["event_id"].endswith("ol288")]
        assert len(purchases) == PURCHASES
        # X's list is in arrival order: every purchase went out with the first window's budget.
        assert max(purchases) < LIMIT, purchases
        assert too_many_requests(x_url) == 0
        assert busiest_window(got, WINDOW) <= LIMIT
        assert duplicates(got) == 0
