from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.support.pgtemp import pg_schema


@pytest.fixture
def pg() -> Iterator[tuple[str, psycopg.Connection]]:
    with pg_schema() as found:
        yield found
