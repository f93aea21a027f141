"""Fixtures: one sandbox served on loopback per module, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.xads_sandbox_helpers import credentials_of
from xconduit.sandbox import Sandbox, serve_sandbox
from xconduit.xads import XAdsClient


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sb = Sandbox()
    with serve_sandbox(sb) as base_url:
        yield sb, base_url


@pytest.fixture
def sandbox(served: tuple[Sandbox, str]) -> Sandbox:
    sb, _ = served
    sb.reset()
    return sb


@pytest.fixture
def base_url(served: tuple[Sandbox, str]) -> str:
    return served[1]


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(5.0)) as client:
        yield client


@pytest.fixture
def client(sandbox: Sandbox, base_url: str, http: httpx.Client) -> XAdsClient:
    return XAdsClient(
        http=http, credentials=credentials_of(sandbox), base_url=base_url, oauth_base_url=base_url
    )
