"""Fixtures: one sandbox served on loopback per module, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from xconduit.sandbox import Sandbox, Seed, SeedAccount, serve_sandbox

ACCOUNT = "18ce552mlaq"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sb = Sandbox(seed=Seed(accounts=(SeedAccount(id=ACCOUNT, name="Audience tests"),)))
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
    with httpx.Client(timeout=httpx.Timeout(10.0)) as client:
        yield client
