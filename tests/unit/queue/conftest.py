from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from xconduit.queue import Store
from xconduit.queue.memory import MemoryStore
from xconduit.queue.sqlite import SqliteStore


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Every behavioural test runs against each store, so they cannot drift apart."""
    opened: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "q.db")
    yield opened
    opened.close()
