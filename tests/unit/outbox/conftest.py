from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.pgtemp import temp_schema
from xconduit.outbox import Store
from xconduit.outbox.memory import MemoryStore
from xconduit.outbox.postgres import PostgresStore
from xconduit.outbox.sqlite import SqliteStore


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Every behavioural test runs against each store, so they cannot drift apart."""
    if request.param == "postgresql":
        with temp_schema() as url:
            opened: Store = PostgresStore(url)
            yield opened
            opened.close()
        return
    opened = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "q.db")
    yield opened
    opened.close()
