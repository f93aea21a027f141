"""The SQLite outbox, the default store of a single node (see `store.py`)."""

from __future__ import annotations

from xconduit.outbox.sqlite.store import (
    BULK_CHECKPOINT_PAGES,
    Q,
    SqliteStore,
    migrate,
    split_statements,
)

__all__ = ["BULK_CHECKPOINT_PAGES", "Q", "SqliteStore", "migrate", "split_statements"]
