from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import settings

from tests.support.pgtemp import pg_schema, temp_schema

pytest_plugins = ["tests.support.cpu_time"]

# No per-example deadline: a loaded machine makes any example slow, and a test that fails at
# load 10 is a flaky test. Slowness is the benchmarks' business (`xconduit bench`).
settings.register_profile("xconduit", deadline=None)
settings.load_profile("xconduit")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` first: a worker that picks up a 2-minute soak last holds the whole
    run for it, while started first it runs beside hundreds of short tests. Browser tests stay
    after the rest (their session-long Playwright must not precede a test that calls
    asyncio.run()); the sort is stable, so the order is otherwise the collected one."""
    items.sort(
        key=lambda item: ("tests/browser/" in item.nodeid, item.get_closest_marker("slow") is None)
    )


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL store URL on a fresh schema of its own (dropped after the test)."""
    with temp_schema() as url:
        yield url


@pytest.fixture
def pg() -> Iterator[tuple[str, psycopg.Connection]]:
    """A PostgreSQL schema of its own: (its URL, an admin connection to fill it)."""
    with pg_schema() as found:
        yield found
