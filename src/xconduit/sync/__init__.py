"""Warehouse syncs (reverse ETL): rows of a file or a database query become X conversions.

    result = run_sync(settings, "orders", store, reports=Path(".xconduit/reports"))

A run (`run`: start, batches, finish) reads the sync's source in streaming batches
(`xconduit.sources`), turns each row into the collector's event (`rows`) and maps it through the
collector's own path (`mapper`), writes the rows X would refuse to a CSV report (`report`), and
hands each batch to a sink (`sinks`): the outbox, where its delivery jobs are committed with the
sync's new cursor in one transaction, or the dry run's preview.
`schedule` runs syncs on their `schedule` inside `xconduit serve`; `wait` follows delivery.
"""

from __future__ import annotations

from xconduit.sync.run import SyncResult, find_sync, run_sync

__all__ = ["SyncResult", "find_sync", "run_sync"]
