"""A live gateway with delivery to the in-process sandbox (real HTTP on loopback, real SQLite)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.gateway_live import gateway_settings, running_gateway, wait_for_conversions
from xconduit.app import Gateway


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Gateway, str]]:
    with running_gateway(gateway_settings(), tmp_path, delivery=True) as pair:
        yield pair


@pytest.fixture
def sandbox_conversions(live: tuple[Gateway, str]) -> Callable[[int], list[dict[str, Any]]]:
    return lambda count: wait_for_conversions(live[1], count)
