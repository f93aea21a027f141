from __future__ import annotations

import json
import time
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xconduit.xads.batching import MAX_BYTES, MAX_OPERATIONS, encode, split_operations

HASH = "49e0be2aeccfb51a8dee4c945c8a70a9ac500cf6f5cb08112575f74db9b1470d"


def op(kind: str, n_users: int, **params: Any) -> dict[str, Any]:
    users = [{"email": [f"{i:064x}"]} for i in range(n_users)]
    return {"operation_type": kind, "params": {**params, "users": users}}


def flatten(operations: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [(o["operation_type"], u) for o in operations for u in o["params"]["users"]]


def decode(chunks: list[Any]) -> list[dict[str, Any]]:
    return [o for c in chunks for o in json.loads(c.body)]


def test_one_small_request_is_one_chunk() -> None:
    ops = [op("Update", 2), op("Delete", 2)]
    (chunk,) = split_operations(ops)
    assert json.loads(chunk.body) == ops
    assert (chunk.operations, chunk.users) == (2, 4)
    assert chunk.body == encode(ops)


def test_operation_count_limit() -> None:
    ops = [op("Update", 1) for _ in range(MAX_OPERATIONS * 2 + 1)]
    chunks = split_operations(ops)
    assert [c.operations for c in chunks] == [MAX_OPERATIONS, MAX_OPERATIONS, 1]
    assert decode(chunks) == ops


def test_byte_limit_splits_between_operations() -> None:
    ops = [op("Update", 10) for _ in range(30)]
    one = len(encode(ops[0]))
    chunks = split_operations(ops, max_bytes=one * 10 + 20)
    assert len(chunks) == 3
    assert all(len(c.body) <= one * 10 + 20 for c in chunks)
    assert decode(chunks) == ops


def test_huge_operation_is_split_keeping_type_and_dates() -> None:
    big = op("Delete", 1000, effective_at="2024-05-01T00:00:00Z", expires_at="2025-06-01T00:00:00Z")
    limit = 20_000
    chunks = split_operations([big], max_bytes=limit)
    assert len(chunks) > 1
    assert all(len(c.body) <= limit for c in chunks)
    pieces = decode(chunks)
    assert {p["operation_type"] for p in pieces} == {"Delete"}
    assert {(p["params"]["effective_at"], p["params"]["expires_at"]) for p in pieces} == {
        ("2024-05-01T00:00:00Z", "2025-06-01T00:00:00Z")
    }
    assert flatten(pieces) == flatten([big])
    assert sum(c.users for c in chunks) == 1000


@pytest.mark.slow
def test_real_limit_at_five_megabytes() -> None:
    # ~11 MB of users in one operation and a small one: bodies are packed up to 5,000,000 bytes.
    ops = [op("Update", 140_000), op("Delete", 3)]
    started = time.perf_counter()
    chunks = split_operations(ops)
    elapsed = time.perf_counter() - started
    sizes = [len(c.body) for c in chunks]
    assert max(sizes) <= MAX_BYTES
    assert len(chunks) == 3
    assert min(sizes[:2]) > MAX_BYTES - 200  # packed, not wasteful
    assert sum(c.users for c in chunks) == 140_003
    assert flatten(decode(chunks)) == flatten(ops)
    assert elapsed < 10


@pytest.mark.parametrize(
    ("operations", "message"),
    [
        ([], "at least one operation"),
        ([{"operation_type": "Add", "params": {"users": [{}]}}], "Update or Delete"),
        ([{"operation_type": "Update", "params": {"users": []}}], "non-empty"),
        ([{"operation_type": "Update", "params": {}}], "non-empty"),
        ([{"operation_type": "Update"}], "non-empty"),
        ([{"operation_type": "Update", "params": {"users": "abc"}}], "non-empty"),
    ],
)
def test_invalid_operations(operations: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split_operations(operations)


def test_single_user_over_the_limit() -> None:
    giant = {"operation_type": "Update", "params": {"users": [{"email": [HASH] * 2000}]}}
    with pytest.raises(ValueError, match="larger than"):
        split_operations([giant], max_bytes=10_000)


def test_tuples_and_mappings_encode_like_lists_and_dicts() -> None:
    params = {"users": ({"email": (HASH,)},)}
    ops = [MappingProxyType({"operation_type": "Update", "params": params})]
    (chunk,) = split_operations(ops)
    assert json.loads(chunk.body) == [
        {"operation_type": "Update", "params": {"users": [{"email": [HASH]}]}}
    ]


users_st = st.lists(
    st.fixed_dictionaries({"email": st.lists(st.text(max_size=40), min_size=1, max_size=3)}),
    min_size=1,
    max_size=30,
)
ops_st = st.lists(
    st.builds(
        lambda kind, users: {"operation_type": kind, "params": {"users": users}},
        st.sampled_from(["Update", "Delete"]),
        users_st,
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=150, deadline=None)
@given(ops=ops_st, max_ops=st.integers(1, 7), max_bytes=st.integers(400, 3000))
@pytest.mark.slow
def test_split_preserves_users_and_respects_limits(
    ops: list[dict[str, Any]], max_ops: int, max_bytes: int
) -> None:
    chunks = split_operations(ops, max_operations=max_ops, max_bytes=max_bytes)
    for chunk in chunks:
        decoded = json.loads(chunk.body)
        assert len(chunk.body) <= max_bytes
        assert chunk.operations == len(decoded) <= max_ops
        assert chunk.users == sum(len(o["params"]["users"]) for o in decoded)
    assert flatten(decode(chunks)) == flatten(ops)
