"""Throwaway PostgreSQL schemas on the shared test server (started by scripts/test-env).

Every test gets its own schema with a random name and drops it after, so engineers and test runs
sharing the server never see one another's rows. `XCONDUIT_TEST_PG` names another server.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import psycopg
import pytest

SERVER = os.environ.get("XCONDUIT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def server_or_skip() -> None:
    """Skip when no server answers, except in CI, where scripts/test-env must have started it."""
    try:
        psycopg.connect(SERVER, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not running at {SERVER} (run scripts/test-env): {error}")
        pytest.skip(f"PostgreSQL is not running at {SERVER} (run scripts/test-env)")


def in_schema(server: str, schema: str) -> str:
    """`server`'s URL with every connection's search_path set to `schema`.

    Its commits return before the server has flushed them to disk (synchronous_commit=off):
    what every connection reads is the same, only a crash of the shared server itself would lose
    them, and a test schema is thrown away anyway. It saves the wait of each commit, about a
    fifth of making and migrating a schema. Tests of a database crash use their own server
    (tests/support/throwaway_pg.py)."""
    joiner = "&" if "?" in server else "?"
    options = f"-csearch_path={schema} -csynchronous_commit=off"
    return f"{server}{joiner}options={quote(options)}"


@contextmanager
def temp_schema(server: str = SERVER) -> Iterator[str]:
    """A store URL on a new empty schema, dropped (with everything in it) at the end."""
    server_or_skip()
    name = f"xc_test_{secrets.token_hex(6)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield in_schema(server, name)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@contextmanager
def pg_schema() -> Iterator[tuple[str, psycopg.Connection]]:
    """(`temp_schema`'s URL, an autocommit connection whose search_path is that schema), for
    tests that write the tables a sync reads."""
    with temp_schema() as url, psycopg.connect(url, autocommit=True) as conn:
        yield url, conn
