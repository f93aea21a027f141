"""A live gateway per test (real HTTP on loopback, real SQLite), delivery off unless asked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.gateway_live import FIXED_NOW, gateway_settings, running_gateway
from xconduit.app import Gateway


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Gateway, str]]:
    with running_gateway(gateway_settings(), tmp_path, clock=lambda: FIXED_NOW) as pair:
        yield pair


@pytest.fixture
def gateway(live: tuple[Gateway, str]) -> Gateway:
    return live[0]


@pytest.fixture
def http(live: tuple[Gateway, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live[1], timeout=10) as client:
        yield client
