"""Warehouse syncs (reverse ETL): rows of a file or a database query become X conversions.

    result = run_sync(settings, "orders", store, reports=Path(".xconduit/reports"))

A run reads the sync's source in streaming batches (`xconduit.sources`), maps each row through
the collector's own path (`mapper`), writes the rows X would refuse to a CSV report (`report`),
and commits each batch's delivery jobs with the sync's new cursor in one transaction (`run`).
`schedule` runs syncs on their `schedule` inside `xconduit serve`; `wait` follows delivery.
"""

from __future__ import annotations

from xconduit.sync.run import SyncResult, find_sync, run_sync

__all__ = ["SyncResult", "find_sync", "run_sync"]
