"""Bad input at scale on the PostgreSQL store: schemathesis against `/openapi.json` and a
Hypothesis fuzzer of event bodies. Zero 5xx; the good events beside bad ones are all stored."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Ok

from tests.support.gateway_live import SERVER_KEY, gateway_settings, running_gateway
from tests.support.pgtemp import temp_schema
from xconduit.outbox.postgres import PostgresStore

pytestmark = [
    pytest.mark.postgres,
    # The store's connection pool (psycopg_pool) draws its jitter from the global `random` in
    # threads of its own, while Hypothesis draws an example here; Hypothesis takes the changed
    # global state for a strategy using `random` and warns (an error in this suite). No
    # strategy of this module uses `random`.
    pytest.mark.filterwarnings(
        "ignore:Do not use the `random` module inside strategies"
        ":hypothesis.errors.HypothesisDeprecationWarning"
    ),
]

AUTH = {"Authorization": "Basic " + base64.b64encode(f"{SERVER_KEY}:".encode()).decode()}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A gateway on a fresh PostgreSQL schema: (its URL, the store URL)."""
    with temp_schema() as store_url:
        store = PostgresStore(store_url)
        workdir = tmp_path_factory.mktemp("pgfuzz")
        with running_gateway(gateway_settings(), workdir, store=store) as (_, url):
            yield url, store_url


@pytest.mark.slow
def test_no_request_the_schema_allows_gets_a_5xx(live: tuple[str, str]) -> None:
    schema = schemathesis.openapi.from_url(f"{live[0]}/openapi.json")
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert operations
    assert len(operations) == len(results), (
        "the gateway's schema has operations that cannot be read"
    )

    for operation in operations:

        @settings(
            max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(headers=AUTH, timeout=10)
            assert response.status_code < 500, f"{case.method} {case.path}: {response.text}"

        check()


junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
bad_events = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["track", "identify", "bogus"]) | junk,
        "event": junk,
        "userId": junk,
        "messageId": junk,
        "timestamp": st.text(max_size=30) | junk,
        "properties": junk,
    },
).filter(lambda e: not (e.get("type") == "track" and isinstance(e.get("userId"), str)))


def good_event(n: int, run: str) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Order Completed",
        "userId": f"u-{n}",
        "messageId": f"good-{run}-{n}",
        "properties": {"order_id": f"o-{run}-{n}", "email": f"p{n}@example.com", "revenue": 3},
    }


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    bad=st.lists(bad_events, max_size=6),
    goods=st.integers(min_value=1, max_value=6),
    seed=st.randoms(use_true_random=False),
)
@pytest.mark.slow
def test_good_events_beside_bad_ones_are_all_stored(
    live: tuple[str, str], bad: list[dict[str, Any]], goods: int, seed: Any
) -> None:
    url, store_url = live
    run = uuid.uuid4().hex  # message ids of their own: Hypothesis replays examples
    batch: list[Any] = [good_event(n, run) for n in range(goods)] + bad
    seed.shuffle(batch)
    response = httpx_post(f"{url}/v1/batch", json.dumps({"batch": batch}).encode())

    assert response.status_code == 200, response.text
    with psycopg.connect(store_url) as conn:
        stored = {
            row[0]
            for row in conn.execute(
                "SELECT message_id FROM received_events WHERE message_id LIKE %s",
                (f"good-{run}-%",),
            )
        }
    assert stored == {f"good-{run}-{n}" for n in range(goods)}


def httpx_post(url: str, body: bytes) -> Any:
    import httpx

    return httpx.post(url, content=body, headers=AUTH, timeout=10)
