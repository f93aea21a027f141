"""Settings and checks shared by the sync tests."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

import orjson

from xconduit.config import Settings
from xconduit.outbox.sqlite import SqliteStore

DESTINATION = {
    "name": "shop",
    "account_id": "18ce552mlaq",
    "pixel_id": "oka17",
    "events": {"Order Completed": "tw-oka17-ol288", "Signed Up": "tw-oka17-ol289"},
}
COLUMNS = {"email": "email", "value": "total", "conversion_id": "order_id", "conversion_time": "ts"}


def settings(**sync: Any) -> Settings:
    base = {"name": "orders", "destination": "shop", "event": "Order Completed", "columns": COLUMNS}
    return Settings.model_validate({"conversions": [DESTINATION], "syncs": [{**base, **sync}]})


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def pending(store: SqliteStore) -> list[dict[str, Any]]:
    """Every job's conversion of "shop", whatever its key, in enqueue order (claims them)."""
    owners = sorted({owner for destination, owner in store.job_owners() if destination == "shop"})
    jobs = [
        job
        for owner in owners
        for job in store.claim_batch(
            "shop", limit=1_000_000, now=9e12, lease_seconds=60, owner=owner
        )
    ]
    return [orjson.loads(job.payload) for job in sorted(jobs, key=lambda job: job.id)]


def report_lines(folder: Path) -> list[dict[str, str]]:
    lines: list[dict[str, str]] = []
    for path in sorted(folder.glob("*-rejected-*.csv")):
        with path.open(newline="") as handle:
            lines.extend(csv.DictReader(handle))
    return lines
