"""The floors the collector is measured beside: the least an ASGI app on the same server can do.

* `parse`: a bare Starlette route that reads the body, parses it with orjson and answers
  `{"success":true}`; nothing else (no key check, no mapping, no store).
* `insert`: the same, plus one SQLite insert of the body per request, committed in WAL mode with
  `synchronous=FULL` (what a naive collector that writes each request before answering does).

Both run under the server `xconduit serve` uses (`xconduit.serving`), in this process.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_ANSWER = orjson.dumps({"success": True})


def _app(insert: sqlite3.Connection | None) -> Starlette:
    lock = threading.Lock()

    def write(body: bytes, events: int) -> None:
        assert insert is not None
        with lock:
            insert.execute("INSERT INTO requests (events, body) VALUES (?, ?)", (events, body))
            insert.commit()

    async def collect(request: Request) -> Response:
        body = await request.body()
        parsed = orjson.loads(body)
        batch = parsed.get("batch") if isinstance(parsed, dict) else None
        events = len(batch) if isinstance(batch, list) else 1
        if insert is not None:
            await run_in_threadpool(write, body, events)
        return Response(_ANSWER, media_type="application/json")

    app = Starlette(routes=[Route("/v1/{kind}", collect, methods=["POST"])])
    app.state.db = insert
    return app


@contextmanager
def floor_app(kind: str) -> Iterator[Starlette]:
    """The `parse` or `insert` floor app (its SQLite file removed at the end)."""
    if kind == "parse":
        yield _app(None)
        return
    with tempfile.TemporaryDirectory(prefix="xconduit-floor-") as folder:
        conn = sqlite3.connect(Path(folder) / "floor.db", check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("CREATE TABLE requests (id INTEGER PRIMARY KEY, events INT, body BLOB)")
            yield _app(conn)
        finally:
            conn.close()
