"""The docs' sample sync (`xconduit.example.toml`'s `orders` on `docs/examples/sync/orders.csv`)
sends its orders whatever the date: X attributes a conversion up to 90 days old, and a file of
fixed dates would become dead letters three months after it was written."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from xconduit.config import load_settings
from xconduit.config.identity import owner_keys
from xconduit.delivery.expiry import expired
from xconduit.outbox.sqlite import SqliteStore
from xconduit.sync import run_sync

ROOT = Path(__file__).parents[3]


@pytest.mark.parametrize(
    "today",
    [
        time.time(),
        datetime(2027, 6, 1, 0, 5, tzinfo=UTC).timestamp(),
        datetime(2031, 12, 31, 23, 59, tzinfo=UTC).timestamp(),
    ],
    ids=["now", "2027-06-01", "2031-12-31"],
)
def test_the_docs_sample_sync_sends_every_order_on_any_day(tmp_path: Path, today: float) -> None:
    settings = load_settings(ROOT / "xconduit.example.toml", environ={})
    store = SqliteStore(tmp_path / "outbox.db")
    try:
        first = run_sync(
            settings, "orders", store, reports=tmp_path, base_dir=ROOT, clock=lambda: today
        )
        again = run_sync(
            settings, "orders", store, reports=tmp_path, base_dir=ROOT, clock=lambda: today
        )
        owner = owner_keys(settings)["shop"]
        jobs = store.claim_batch("shop", limit=10, now=today, lease_seconds=60.0, owner=owner)
    finally:
        store.close()
    assert (first.rows, first.enqueued, first.rejected) == (3, 3, 0), first.notes
    assert again.rows == 0  # the cursor holds: the sample's rows are not read twice in a day
    assert len(jobs) == 3
    assert expired(jobs, now=today) == []
    latest = datetime.fromtimestamp(today, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
    assert all(job.conversion_time < latest for job in jobs)
