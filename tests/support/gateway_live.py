"""Run a real gateway (uvicorn on 127.0.0.1, SQLite in a temp folder) inside the test process."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.types import ASGIApp

from xconduit.app import Gateway, build_gateway
from xconduit.config import ConversionDestination, Settings, SourceSettings, TagSettings
from xconduit.config.demo import DEMO_ACCOUNT_ID, DEMO_EVENTS, DEMO_PAGE_EVENT_ID, DEMO_PIXEL_ID
from xconduit.config.identity import owner_keys
from xconduit.serving import serve_in_thread

SERVER_KEY = "wk_server_1"
WEB_KEY = "wk_web_1"
LIMITED_KEY = "wk_limited_1"
SHOP = "https://shop.example"
FIXED_NOW = 1_767_268_800.0  # 2026-01-01T12:00:00Z


def gateway_settings(**overrides: Any) -> Settings:
    """Three sources (server, web with CORS and client IP, rate-limited) and the demo pixel."""
    base: dict[str, Any] = {
        "sources": [
            SourceSettings(name="server", write_keys=[SERVER_KEY]),
            SourceSettings(
                name="web",
                write_keys=[WEB_KEY],
                allowed_origins=[SHOP],
                client_ip=True,
            ),
            SourceSettings(name="limited", write_keys=[LIMITED_KEY], rate_limit=1),
        ],
        "conversions": [
            ConversionDestination(
                name="shop",
                account_id=DEMO_ACCOUNT_ID,
                pixel_id=DEMO_PIXEL_ID,
                events=DEMO_EVENTS,
                page_event_id=DEMO_PAGE_EVENT_ID,
                tag=[TagSettings(universal_pixel_id=DEMO_PIXEL_ID)],
            )
        ],
    }
    base.update(overrides)
    return Settings(**base)


def serving(app: ASGIApp) -> AbstractContextManager[str]:
    """Serve `app` on a free loopback port until the block ends; yields the base URL."""
    return serve_in_thread(app, name="test-gateway")


@contextmanager
def running_gateway(
    settings: Settings,
    workdir: Path,
    *,
    delivery: bool = False,
    clock: Callable[[], float] = time.time,
    **kwargs: Any,
) -> Iterator[tuple[Gateway, str]]:
    gateway = build_gateway(settings, workdir=workdir, delivery=delivery, clock=clock, **kwargs)
    gateway.start()
    try:
        with serving(gateway.app) as url:
            yield gateway, url
    finally:
        gateway.stop()


def stored_conversions(gateway: Gateway, destination: str = "shop") -> list[dict[str, Any]]:
    """The conversions waiting in the outbox (claims them: use with delivery off)."""
    import orjson

    owner = owner_keys(gateway.settings).get(destination, "")
    jobs = gateway.store.claim_batch(
        destination, limit=10_000, now=1e10, lease_seconds=600, owner=owner
    )
    return [orjson.loads(job.payload) for job in jobs]


def wait_for_conversions(url: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """What the sandbox received (via the gateway's `/_sandbox/`), once it holds `count`."""
    deadline = time.monotonic() + timeout
    while True:
        data: list[dict[str, Any]] = httpx.get(f"{url}/_sandbox/conversions").json()["data"]
        if len(data) >= count or time.monotonic() > deadline:
            return data
        time.sleep(0.05)


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def post(
    http: httpx.Client, path: str, body: Any, key: str = SERVER_KEY, **kw: Any
) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {**basic(key), **kw.pop("headers", {})}
    return http.post(path, content=content, headers=headers, **kw)
