from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests.support.pgtemp import temp_schema

pytest_plugins = ["tests.support.cpu_time"]

# No per-example deadline: a loaded machine makes any example slow, and a test that fails at
# load 10 is a flaky test. Slowness is the benchmarks' business (`xconduit bench`).
settings.register_profile("xconduit", deadline=None)
settings.load_profile("xconduit")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL store URL on a fresh schema of its own (dropped after the test)."""
    with temp_schema() as url:
        yield url
