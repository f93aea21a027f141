"""The DuckDB path hashes snapshot identifiers byte for byte like `xconduit.normalize`."""

from __future__ import annotations

import functools

import duckdb
import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xconduit.audiences import sqlnorm
from xconduit.audiences.identity import snapshot_key
from xconduit.normalize.audience import AUDIENCE_KEYS, audience_user

TRICKY = [
    None,
    "",
    "   ",
    "Test-Email@Test.com ",
    "no-at-sign",
    "\tTabbed@Example.com\n",
    "ÜBER@example.com",
    "@AdsAPI",
    "@@double",
    "@ ",
    "  @ Spaced",
    "143567",
    " 143567 ",
    "14a",
    "٣٤٥",
    "4B61639E-47CC-4056-A16A-C8217E029462",
    "E586883B2B4FAF78D48300A79E0E15138D664CDF796FFB86E533170A9893EDA8",
    "+1 (123) 456-7890",
    "1234567890",
    "020 7946 0958",
    'partner"quoted\\id',
    "partner\u0007bell",
    "crm-42",
    "crm:jane@example.com",
    "crm +1 415 555 0142",
    "crm 415-555-0142",
    "crm-2024-11-30-000123",
    "\u00a0nbsp@example.com\u00a0",
    "\x1fUnit-Sep@Example.com\x0b",
    "a\x00b@example.com",
    "bad@@victim.example",
    "@@",
    "a b@@c.example",
    ".a@example.com",
    "a..b@example.com",
    "a@-x.example",
    "a@192.0.2.1",
    "a@localhost",
    "ana@example.com\x00",
    "ana@exa\x7fmple.com",
    "crm\x00-42",
    "@ads\x01api",
    "4b61639e\x1b-47cc",
    "x" * 65 + "@example.com",
    "a@" + "b" * 64 + ".com",
    "a@b.c0m",
    "a@b.0com",
]


@functools.cache
def _connection() -> duckdb.DuckDBPyConnection:
    """One connection for the module: registering the functions costs more than a query."""
    con = duckdb.connect()
    sqlnorm.register(con)
    return con


def sql_rows(rows: list[dict[str, str | None]], keys: tuple[str, ...]) -> list[str | None]:
    con = _connection()
    table = pa.table({k: pa.array([r[k] for r in rows], pa.string()) for k in keys})
    con.register("batch", table)
    query = sqlnorm.select_sql({k: k for k in keys}, "GB", "batch")
    return [r[0] for r in con.execute(f"SELECT payload FROM ({query})").fetchall()]


def python_rows(rows: list[dict[str, str | None]], keys: tuple[str, ...]) -> list[str | None]:
    out = []
    for row in rows:
        user = audience_user(
            {k: v for k, v in row.items() if v is not None}, region="GB", keys=keys
        )
        out.append(None if user.is_empty() else orjson.dumps(user.payload()).decode())
    return out


@pytest.mark.parametrize("key", AUDIENCE_KEYS)
def test_each_key_matches_the_python_rules_on_tricky_values(key: str) -> None:
    rows = [{key: value} for value in TRICKY]
    assert sql_rows(rows, (key,)) == python_rows(rows, (key,))


def test_a_row_with_several_keys_is_one_user_object_in_x_key_order() -> None:
    row: dict[str, str | None] = {
        "handle": "@AdsAPI",
        "email": "test-email@test.com",
        "partner_user_id": "crm-1",
    }
    (payload,) = sql_rows([row], ("handle", "email", "partner_user_id"))
    assert payload == (
        '{"email":["e586883b2b4faf78d48300a79e0e15138d664cdf796ffb86e533170a9893eda8"],'
        '"handle":["49e0be2aeccfb51a8dee4c945c8a70a9ac500cf6f5cb08112575f74db9b1470d"],'
        '"partner_user_id":["crm-1"]}'
    )
    con = duckdb.connect()
    assert con.execute("SELECT md5(?)", [payload]).fetchall()[0][0] == snapshot_key(
        payload.encode()
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=20), st.text(max_size=20)), min_size=1, max_size=20))
@pytest.mark.slow
def test_any_text_gives_the_same_bytes(pairs: list[tuple[str, str]]) -> None:
    keys = ("email", "handle")
    rows: list[dict[str, str | None]] = [{"email": a, "handle": b} for a, b in pairs]
    assert sql_rows(rows, keys) == python_rows(rows, keys)
