"""A busy outbox: another connection holds SQLite's write lock (a claim, a second process)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.support.events import order
from tests.support.gateway_live import (
    gateway_settings,
    post,
    running_gateway,
    wait_for_conversions,
)
from xconduit.config import ServerSettings
from xconduit.errors import StoreBusy
from xconduit.outbox.sqlite import SqliteStore


def test_a_busy_store_gets_a_503_within_busy_timeout_and_the_retry_commits(
    tmp_path: Path,
) -> None:
    settings = gateway_settings(server=ServerSettings(busy_timeout=0.5))
    # Delivery on: its workers claim from the same store while the lock is held, as in production.
    with running_gateway(settings, tmp_path, delivery=True) as (gateway, url):
        store = gateway.store
        assert isinstance(store, SqliteStore)
        holder = sqlite3.connect(store.path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the outbox
        try:
            with httpx.Client(base_url=url, timeout=10) as http:
                busy = post(http, "/v1/track", order("busy-1"))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert busy.status_code == 503
        assert busy.headers["Retry-After"].isdigit()
        body = busy.json()
        assert body["success"] is False
        assert "busy" in body["error"]
        assert "server.busy_timeout = 0.5 s" in body["error"]

        with httpx.Client(base_url=url, timeout=10) as http:
            retried = post(http, "/v1/track", order("busy-1"))
        assert retried.status_code == 200
        assert retried.json()["accepted"] == 1  # the 503'd attempt was not committed behind it
        (arrived,) = wait_for_conversions(url, 1)
        assert arrived["conversion_id"] == "o-busy-1"


def test_a_store_held_by_another_writer_says_busy_and_writes_nothing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "outbox.db", busy_timeout=0.3)
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreBusy, match=r"busy_timeout \(0.3 s\)"):
            store.claim_batch("shop", limit=10, now=0.0, lease_seconds=60)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.claim_batch("shop", limit=10, now=0.0, lease_seconds=60) == []
    store.close()
