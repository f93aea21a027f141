"""Every run of a sync is noted in the store's run history: a finished one with its figures and
cursor, one that read nothing with why, one that failed with why."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.sync_setup import settings
from xconduit.errors import SourceError
from xconduit.outbox.sqlite import SqliteStore
from xconduit.sync import run_sync

T0 = 1_772_442_000  # 2026-03-02 09:00 UTC, the day after the rows
HEADER = "order_id,email,total,ts\n"
ROWS = [
    "o-1,a@example.com,10.00,2026-03-01 09:00:00\n",
    "o-2,b@example.com,12.00,2026-03-01 09:01:00\n",
    "o-2,b@example.com,12.00,2026-03-01 09:01:00\n",  # the same line twice
    "o-3,c@example.com,-1x,2026-03-01 09:02:00\n",  # an unreadable value: rejected
]


def test_each_run_is_noted_finished_empty_and_failed(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "outbox.db")
    (tmp_path / "orders.csv").write_text(HEADER + "".join(ROWS))
    config = settings(source="orders.csv", cursor="ts")
    ticks = iter(range(T0, T0 + 100))

    def run() -> None:
        run_sync(
            config,
            "orders",
            store,
            reports=tmp_path / "reports",
            base_dir=tmp_path,
            clock=lambda: float(next(ticks)),
        )

    run()
    [first] = store.sync_runs("orders")
    assert (first.rows_read, first.enqueued, first.rejected, first.repeated) == (4, 2, 1, 1)
    assert first.outcome == "finished"
    assert first.cursor_before is None
    assert first.cursor_after is not None
    assert first.report is not None
    assert (tmp_path / "reports" / first.report).is_file()
    assert first.started_at == T0
    assert first.seconds > 0

    run()  # nothing new past the cursor
    second = store.sync_runs("orders")[0]
    assert second.rows_read == 0
    assert second.cursor_before == first.cursor_after
    assert "read 0 rows: none is past the cursor" in second.why

    (tmp_path / "orders.csv").unlink()
    with pytest.raises(SourceError):
        run()
    third = store.sync_runs("orders")[0]
    assert third.outcome == "failed"
    assert "orders.csv" in third.why
    assert [r.started_at for r in store.sync_runs("orders")] == sorted(
        [r.started_at for r in store.sync_runs("orders")], reverse=True
    )
    store.close()


def test_a_dry_run_is_not_noted(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "outbox.db")
    (tmp_path / "orders.csv").write_text(HEADER + ROWS[0])
    run_sync(
        settings(source="orders.csv"),
        "orders",
        store,
        reports=tmp_path / "reports",
        base_dir=tmp_path,
        dry_run=True,
    )
    assert store.sync_runs("orders") == []
    store.close()
