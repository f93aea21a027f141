"""A private PostgreSQL schema per test on the shared test server (scripts/test-env starts it).

Outside CI a missing server skips the test; with CI=true it fails (CI must have it)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

BASE_URL = os.environ.get("XCONDUIT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def pg_schema() -> Iterator[tuple[str, psycopg.Connection]]:
    """(URL whose search_path is a new schema, autocommit admin connection); dropped after."""
    try:
        admin = psycopg.connect(BASE_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no PostgreSQL at {BASE_URL} (run scripts/test-env): {error}")
    schema = f"h9_{secrets.token_hex(6)}"
    admin.execute(f"CREATE SCHEMA {schema}")
    admin.execute(f"SET search_path = {schema}")
    try:
        yield f"{BASE_URL}?options=-csearch_path%3D{schema}", admin
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()
