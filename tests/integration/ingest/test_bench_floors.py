"""The floors of `xconduit bench ingest-batch|ingest-track` do what their rows say, and the client
processes of the floor comparison each keep one connection; it asserts no speed."""

from __future__ import annotations

import httpx
import orjson
import pytest

from xconduit.bench.floors import floor_app
from xconduit.bench.ingest import BATCH, SHAPES, _body, measure_processes
from xconduit.serving import serve_in_thread


@pytest.mark.parametrize("kind", ["parse", "insert"])
def test_a_floor_answers_success_for_a_batch_and_a_single_event(kind: str) -> None:
    with floor_app(kind) as app, serve_in_thread(app) as url, httpx.Client(base_url=url) as client:
        batch = client.post("/v1/batch", content=_body("t", 0, BATCH))
        single = client.post("/v1/track", content=_body("t", 0, 1))
    assert (batch.status_code, single.status_code) == (200, 200)
    assert orjson.loads(batch.content) == {"success": True}


def test_the_insert_floor_writes_one_row_per_request_in_wal_with_full_sync() -> None:
    with (
        floor_app("insert") as app,
        serve_in_thread(app) as url,
        httpx.Client(base_url=url) as client,
    ):
        for n in range(3):
            client.post("/v1/batch", content=_body("t", n * BATCH, BATCH))
        db = app.state.db
        assert db.execute("SELECT count(*), sum(events) FROM requests").fetchone() == (3, 300)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_shape_is_a_batch_of_distinct_valid_events(shape: str) -> None:
    events = orjson.loads(_body("t", 0, 3, shape))["batch"]
    assert len({e["messageId"] for e in events}) == 3
    assert all(e["type"] in ("track", "page") for e in events)


def test_client_processes_send_to_the_floor_and_count_its_events() -> None:
    with floor_app("parse") as app, serve_in_thread(app) as url:
        rate, cpu = measure_processes(url, "/v1/batch", BATCH, 1.0, processes=2)
    assert rate > 0
    assert cpu >= 0
