"""The dashboard's dead letters: X's error shown, purge one, replay all (the store is changed,
the page says how many)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.delivery_helpers import DESTINATION, conversion, enqueue
from xconduit.app import build_gateway
from xconduit.config import Settings
from xconduit.queue import JobStatus
from xconduit.queue.memory import MemoryStore
from xconduit.serving import serve_in_thread

ERROR = "X 400 INVALID_PARAMETER: conversion_time is in the future"


@pytest.fixture
def dead_store() -> MemoryStore:
    store = MemoryStore()
    now = time.time()
    enqueue(store, [conversion(n) for n in range(3)], now=now)
    jobs = store.claim_batch(DESTINATION, limit=10, now=now, lease_seconds=60)
    store.dead_letter([(job.id, ERROR) for job in jobs], now=now)
    return store


@pytest.fixture
def url(dead_store: MemoryStore) -> Iterator[str]:
    gateway = build_gateway(Settings(), delivery=False, store=dead_store)
    with serve_in_thread(gateway.app, host="127.0.0.1") as base:
        yield base


def test_purge_one_then_replay_all(dead_store: MemoryStore, url: str) -> None:
    page = httpx.get(url + "/dashboard/dead").text
    assert page.count('class="dead-letter"') == 3
    assert "INVALID_PARAMETER: conversion_time is in the future" in page

    first = dead_store.list_dead()[0]
    purged = httpx.post(url + "/dashboard/dead/purge", data={"id": str(first.id)})
    assert purged.status_code == 303
    page = httpx.get(url + purged.headers["location"]).text
    assert "purged 1 dead letter(s)" in page
    assert page.count('class="dead-letter"') == 2
    assert first.id not in {job.id for job in dead_store.list_dead()}

    replayed = httpx.post(url + "/dashboard/dead/replay", data={"all": "1"})
    page = httpx.get(url + replayed.headers["location"]).text
    assert "replayed 2 dead letter(s)" in page
    assert "no dead letter" in page
    assert dead_store.counts()[DESTINATION] == {JobStatus.PENDING: 2}
