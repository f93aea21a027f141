from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.stores import opened_store
from xconduit.outbox import Store

POSTGRESQL = pytest.param("postgresql", marks=pytest.mark.postgres)


@pytest.fixture(params=["memory", "sqlite", POSTGRESQL])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Every behavioural test runs against each store, so they cannot drift apart."""
    with opened_store(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture(params=["sqlite", POSTGRESQL])
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The SQL stores only: for tests that read their tables."""
    with opened_store(request.param, tmp_path) as opened:
        yield opened
