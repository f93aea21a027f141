"""Syncs on their schedule inside the gateway: run at start, again when due, and a failing
source does not stop the others or the gateway."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.support.sync_setup import DESTINATION, pending
from xconduit.app import build_gateway
from xconduit.config import Settings
from xconduit.outbox.sqlite import SqliteStore
from xconduit.sync.schedule import SyncScheduler


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _settings() -> Settings:
    sync = {
        "destination": "shop",
        "event": "Order Completed",
        "cursor": "n",
        "columns": {"email": "email", "conversion_id": "id"},
    }
    return Settings.model_validate(
        {
            "conversions": [DESTINATION],
            "syncs": [
                {**sync, "name": "orders", "source": "orders-*.jsonl", "schedule": "15m"},
                {**sync, "name": "broken", "source": "missing.jsonl", "schedule": "15m"},
                {**sync, "name": "manual", "source": "orders-*.jsonl"},
            ],
        }
    )


def _write(folder: Path, name: str, first: int, count: int) -> None:
    lines = [
        {"id": f"o-{i}", "n": i, "email": f"u{i}@example.com"} for i in range(first, first + count)
    ]
    (folder / name).write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))


def test_scheduled_syncs_run_when_due(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "orders-1.jsonl", 1, 3)
    store = SqliteStore(tmp_path / "outbox.db")
    clock = Clock()
    scheduler = SyncScheduler(_settings(), store, reports=tmp_path / "reports", clock=clock)

    scheduler.run_due()  # at start: both scheduled syncs; the broken one is logged, not raised
    assert [r.name for r in scheduler.runs] == ["orders"]
    assert len(pending(store)) == 3

    _write(tmp_path, "orders-2.jsonl", 4, 2)
    clock.now += 60
    scheduler.run_due()  # not due yet
    assert len(scheduler.runs) == 1
    clock.now += 900
    scheduler.run_due()
    assert [r.enqueued for r in scheduler.runs] == [3, 2]
    assert [c["conversion_id"] for c in pending(store)] == ["o-4", "o-5"]
    assert store.sync_state("manual") is None  # no schedule: only `xconduit sync manual`


def test_the_gateway_wires_the_schedule_and_its_heartbeat(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "outbox.db")
    gateway = build_gateway(_settings(), store=store, workdir=tmp_path)
    assert gateway.syncs is not None
    assert gateway.heartbeat is not None
    gateway.start()
    try:
        assert store.live_workers(since=0) == 1
    finally:
        gateway.stop()
    assert SqliteStore(tmp_path / "outbox.db").live_workers(since=0) == 0  # forgotten at stop


def test_only_the_first_of_several_serve_processes_runs_the_schedules(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "outbox.db")
    other = build_gateway(_settings(), store=store, workdir=tmp_path, schedules=False)
    assert (other.syncs, other.audiences) == (None, None)
    assert other.delivery is not None  # it still collects and delivers
    store.close()
