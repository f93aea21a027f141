"""Named queries: the loader's rules, and every shipped query is valid against the schema."""

from __future__ import annotations

import re
import sqlite3

import pytest

from xconduit.errors import StoreError
from xconduit.outbox.sql import load_migrations, load_queries, load_schema, parse_queries
from xconduit.outbox.sqlite import split_statements


def test_parse_queries_reads_names_and_bodies() -> None:
    text = (
        "-- file header\n\n"
        "-- name: one\n-- The first.\nSELECT 1;\n\n"
        "-- name: two\n-- The second.\nSELECT\n  2;\n"
    )
    assert parse_queries(text) == {"one": "SELECT 1;", "two": "SELECT\n  2;"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("-- name: one\nSELECT 1;\n", "no '-- description'"),
        ("-- name: one\n-- a\nSELECT 1;\n-- name: one\n-- b\nSELECT 2;\n", "defined twice"),
        ("-- name: one\n-- a\n\n-- name: two\n-- b\nSELECT 2;\n", "empty"),
    ],
)
def test_parse_queries_refuses_malformed_files(text: str, problem: str) -> None:
    with pytest.raises(StoreError, match=problem):
        parse_queries(text)


def test_every_sqlite_query_compiles_against_the_schema() -> None:
    conn = sqlite3.connect(":memory:")
    for statement in split_statements(load_schema("sqlite")):
        conn.execute(statement)
    queries = load_queries("sqlite")
    assert {"claim_batch", "mark_delivered", "schedule_retry", "dead_letter"} <= set(queries)
    for name, sql in queries.items():
        params = dict.fromkeys(re.findall(r":(\w+)", sql))
        try:
            conn.execute("EXPLAIN " + sql, params)
        except sqlite3.Error as error:  # pragma: no cover - the message names the query
            pytest.fail(f"query {name}: {error}")


def test_migrations_are_numbered_from_one() -> None:
    migrations = load_migrations("sqlite")
    versions = [m.version for m in migrations]
    # Increasing from 1; a gap is allowed (a branch's migration may land before an earlier one).
    assert versions[0] == 1
    assert versions == sorted(set(versions))
    assert migrations[0].name == "initial"


@pytest.mark.parametrize(
    ("script", "statements"),
    [
        ("SELECT 1;\nSELECT 2;\n", ["SELECT 1;", "SELECT 2;"]),
        ("-- a comment\nCREATE TABLE t (\n  a INT -- why; not the end\n);\n", 1),
        ("SELECT 1;\n-- trailing comment\n", ["SELECT 1;"]),
    ],
)
def test_split_statements(script: str, statements: list[str] | int) -> None:
    found = split_statements(script)
    if isinstance(statements, int):
        assert len(found) == statements
    else:
        assert found == statements


def test_split_statements_refuses_an_unfinished_statement() -> None:
    with pytest.raises(StoreError, match="unfinished"):
        split_statements("SELECT 1;\nSELECT 2\n")
