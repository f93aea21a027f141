"""Fixtures: a sandbox on loopback per module, a SQLite outbox per test, a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.delivery_helpers import Clock, credentials_of
from xconduit.outbox.sqlite import SqliteStore
from xconduit.sandbox import RateLimit, Sandbox, serve_sandbox
from xconduit.xads import XAdsClient


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sb = Sandbox(rate_limit=RateLimit(conversion_events=None))
    with serve_sandbox(sb) as base_url:
        yield sb, base_url


@pytest.fixture
def sandbox(served: tuple[Sandbox, str]) -> Sandbox:
    sb, _ = served
    sb.reset()
    return sb


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "outbox.db", synchronous="NORMAL")
    yield s
    s.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(sandbox: Sandbox, served: tuple[Sandbox, str]) -> Iterator[XAdsClient]:
    with httpx.Client(timeout=httpx.Timeout(1.0)) as http:
        yield XAdsClient(http=http, credentials=credentials_of(sandbox), base_url=served[1])
