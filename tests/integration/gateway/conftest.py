"""A live gateway with delivery to the in-process sandbox (real HTTP on loopback, real SQLite)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "ingest"))  # the shared gateway_live helper

from gateway_live import gateway_settings, running_gateway

from xconduit.app import Gateway


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Gateway, str]]:
    with running_gateway(gateway_settings(), tmp_path, delivery=True) as pair:
        yield pair


def wait_for_conversions(url: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """What the sandbox received (via the gateway's `/_sandbox/`), once it holds `count`."""
    deadline = time.monotonic() + timeout
    while True:
        data: list[dict[str, Any]] = httpx.get(f"{url}/_sandbox/conversions").json()["data"]
        if len(data) >= count or time.monotonic() > deadline:
            return data
        time.sleep(0.05)


@pytest.fixture
def sandbox_conversions(live: tuple[Gateway, str]) -> Callable[[int], list[dict[str, Any]]]:
    return lambda count: wait_for_conversions(live[1], count)
