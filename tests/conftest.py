from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/pgtemp.py for every folder

from pgtemp import temp_schema


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL store URL on a fresh schema of its own (dropped after the test)."""
    with temp_schema() as url:
        yield url
