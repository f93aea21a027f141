"""The dashboard's dead letters: X's error shown, purge one, replay all (the store is changed,
the page says how many)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.delivery_helpers import ACCOUNT, DESTINATION, PIXEL, conversion, enqueue
from xconduit.app import build_gateway
from xconduit.config import Settings
from xconduit.config.identity import owner_keys
from xconduit.outbox import JobStatus
from xconduit.outbox.memory import MemoryStore
from xconduit.serving import serve_in_thread

ERROR = "X 400 INVALID_PARAMETER: conversion_time is in the future"


SETTINGS = Settings.model_validate(
    {"conversions": [{"name": DESTINATION, "account_id": ACCOUNT, "pixel_id": PIXEL}]}
)
KEY = owner_keys(SETTINGS)[DESTINATION]


@pytest.fixture
def dead_store() -> MemoryStore:
    store = MemoryStore()
    now = time.time()
    enqueue(store, [conversion(n) for n in range(3)], now=now)
    store.adopt_jobs(DESTINATION, owner=KEY, account_id=ACCOUNT, pixel_id=PIXEL)
    jobs = store.claim_batch(DESTINATION, limit=10, now=now, lease_seconds=60, owner=KEY)
    store.dead_letter([(job.id, ERROR) for job in jobs], now=now)
    return store


@pytest.fixture
def url(dead_store: MemoryStore) -> Iterator[str]:
    gateway = build_gateway(SETTINGS, delivery=False, store=dead_store)
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


def test_another_configuration_s_dead_letters_are_counted_not_shown_nor_touched(
    dead_store: MemoryStore, url: str
) -> None:
    now = time.time()
    enqueue(dead_store, [conversion(n) for n in range(10, 12)], now=now)  # untagged: not ours
    theirs = dead_store.claim_batch(DESTINATION, limit=10, now=now, lease_seconds=60)
    dead_store.dead_letter([(job.id, "their error") for job in theirs], now=now)

    page = httpx.get(url + "/dashboard/dead").text
    assert page.count('class="dead-letter"') == 3
    assert "their error" not in page
    assert "2 more dead letter(s) in this store belong to destinations not in this config" in page

    replayed = httpx.post(url + "/dashboard/dead/replay", data={"all": "1"})
    assert "replayed 3 dead letter(s)" in httpx.get(url + replayed.headers["location"]).text
    assert {job.id for job in dead_store.list_dead()} == {job.id for job in theirs}
