"""Serve a `Sandbox` over real loopback HTTP with uvicorn in a background thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from xconduit.sandbox.app import Sandbox
from xconduit.serving import serve_in_thread


@contextmanager
def serve_sandbox(
    sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning"
) -> Iterator[str]:
    """Run the sandbox until the block ends; yields its base URL, e.g. `http://127.0.0.1:54321`.

    `port=0` picks a free port.
    """
    with serve_in_thread(
        sandbox.app, host, port, name="xconduit-sandbox", log_level=log_level
    ) as url:
        yield url
