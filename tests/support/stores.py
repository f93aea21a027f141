"""One store of each kind for tests that run against every store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.pgtemp import temp_schema
from xconduit.outbox.memory import MemoryStore
from xconduit.outbox.postgres import PostgresStore
from xconduit.outbox.sqlite import SqliteStore


@contextmanager
def opened_store(kind: str, folder: Path) -> Iterator[Any]:
    """A new, empty store of `kind` ("memory", "sqlite" in `folder`, "postgresql" in a schema
    of its own), closed afterwards."""
    if kind == "postgresql":
        with temp_schema() as url:
            store: Any = PostgresStore(url)
            try:
                yield store
            finally:
                store.close()
        return
    store = MemoryStore() if kind == "memory" else SqliteStore(folder / "q.db")
    try:
        yield store
    finally:
        store.close()
