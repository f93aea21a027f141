from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.pgtemp import temp_schema

pytest_plugins = ["tests.support.cpu_time"]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL store URL on a fresh schema of its own (dropped after the test)."""
    with temp_schema() as url:
        yield url
