"""Whatever arrives, the collector answers a JSON 2xx/4xx, never a 5xx."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.gateway_live import SERVER_KEY, gateway_settings, running_gateway
from xconduit.ingest import ENDPOINTS

AUTH = {"Authorization": "Basic " + base64.b64encode(f"{SERVER_KEY}:".encode()).decode()}


def _dumps(value: Any) -> bytes:
    # The standard library writes what orjson cannot: big integers, NaN, Infinity.
    return json.dumps(value).encode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
event_keys = st.sampled_from(
    [
        "type",
        "userId",
        "anonymousId",
        "event",
        "messageId",
        "timestamp",
        "properties",
        "context",
        "traits",
        "name",
        "groupId",
        "previousId",
        "sentAt",
        "writeKey",
    ]
)
events = st.dictionaries(event_keys, json_values, max_size=8) | json_values
bodies = st.one_of(
    events.map(_dumps),
    st.lists(events, max_size=5).map(lambda batch: _dumps({"batch": batch})),
    st.dictionaries(st.sampled_from(["batch", "writeKey", "context", "sentAt"]), json_values).map(
        _dumps
    ),
    st.binary(max_size=200),
)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("fuzz")
    with running_gateway(gateway_settings(), workdir) as (_, base):
        yield base


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(sorted(ENDPOINTS))
    | st.text(alphabet="abcxyz._-%", min_size=1, max_size=8),
    body=bodies,
    encoding=st.sampled_from(["", "gzip", "deflate", "identity", "br"]),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "", "application/x-www-form-urlencoded"]
    ),
    compress=st.booleans(),
)
@pytest.mark.slow
def test_no_input_gets_a_5xx(
    url: str, path: str, body: bytes, encoding: str, content_type: str, compress: bool
) -> None:
    if compress and encoding == "gzip":
        body = gzip.compress(body)
    headers: dict[str, Any] = {**AUTH}
    if encoding:
        headers["Content-Encoding"] = encoding
    if content_type:
        headers["Content-Type"] = content_type
    response = httpx.post(f"{url}/v1/{path}", content=body, headers=headers, timeout=10)
    assert response.status_code < 500, response.text
    assert isinstance(response.json(), dict)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    depth=st.integers(min_value=1, max_value=3000),
    leaf=st.sampled_from([b"NaN", b"1" * 5000, b'"\\ud800"', b"1e999", b"{}"]),
    where=st.sampled_from(["properties", "context", "traits"]),
)
def test_deep_nesting_and_huge_numbers_get_no_5xx(
    url: str, depth: int, leaf: bytes, where: str
) -> None:
    # Shapes the strict decoder refuses and the tolerant one must survive (the first fuzz test's
    # values stay shallow and small).
    nested = b"[" * depth + leaf + b"]" * depth
    body = (
        b'{"userId":"u","event":"Order Completed","' + where.encode() + b'":{"a":' + nested + b"}}"
    )
    response = httpx.post(f"{url}/v1/track", content=body, headers=AUTH, timeout=10)
    assert response.status_code < 500, response.text
    assert isinstance(response.json(), dict)
