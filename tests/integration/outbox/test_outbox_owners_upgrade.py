"""An outbox from before migration 0008 (jobs without a key): after the upgrade its jobs are
untagged, and delivered once a delivering process of the same destination name, account and
pixel adopts them; one no destination matches is counted with the foreign jobs."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.pgtemp import temp_schema
from xconduit.config import Settings
from xconduit.config.identity import owner_keys, ownership
from xconduit.delivery import DeliveryService
from xconduit.outbox import JobStatus, Store
from xconduit.outbox.postgres import PostgresStore
from xconduit.outbox.sql import load_migrations
from xconduit.outbox.sqlite import SqliteStore, split_statements
from xconduit.xads import ConversionsResult

BEFORE = 7
SHOP = {"name": "shop", "account_id": "18ce552mlaq", "pixel_id": "oka17"}
PAYLOAD = b'{"conversion_id":"c1"}'


class X:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_conversions(
        self, pixel_id: str, conversions: Sequence[Mapping[str, Any]]
    ) -> ConversionsResult:
        self.sent += [c["conversion_id"] for c in conversions]
        return ConversionsResult(
            processed=len(conversions), sent=len(conversions), debug_id="d", account_id=None
        )


def old_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in load_migrations("sqlite"):
        if migration.version <= BEFORE:
            for statement in split_statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, name) VALUES (?, ?)",
                (migration.version, migration.name),
            )
    for n, (name, pixel) in enumerate([("shop", "oka17"), ("shop", "zz99")], 1):
        conn.execute(
            "INSERT INTO delivery_jobs (destination, account_id, pixel_id, message_id, "
            "conversion_id, payload, status, attempts, created_at, next_attempt_at) "
            "VALUES (?, '18ce552mlaq', ?, ?, ?, ?, 'pending', 0, 1.0, 1.0)",
            (name, pixel, f"m{n}", f"c{n}", PAYLOAD.replace(b"c1", f"c{n}".encode())),
        )
    conn.close()


def old_postgresql(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for migration in load_migrations("postgresql"):
            if migration.version <= BEFORE:
                conn.execute(migration.sql.encode())
                conn.execute(
                    "INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
        for n, pixel in enumerate(["oka17", "zz99"], 1):
            payload = PAYLOAD.replace(b"c1", f"c{n}".encode())
            conn.execute(
                "INSERT INTO job_payloads VALUES (%s, 'shop', '18ce552mlaq', %s, %s, %s, %s)",
                (n, pixel, f"m{n}", f"c{n}", payload),
            )
            conn.execute(
                "INSERT INTO job_state (id, destination, status, attempts, created_at, "
                "next_attempt_at) VALUES (%s, 'shop', 'pending', 0, 1.0, 1.0)",
                (n,),
            )


def check_upgrade(store: Store) -> None:
    settings = Settings.model_validate({"conversions": [SHOP]})
    key = owner_keys(settings)["shop"]
    assert store.job_owners() == {("shop", ""): {JobStatus.PENDING: 2}}
    x = X()
    service = DeliveryService(
        store=store,
        client=x,
        delivery=settings.delivery,
        destinations=settings.conversions,
        ownership=ownership(settings),
    )
    assert service.run_until_idle(timeout=30.0)

    assert x.sent == ["c1"]  # adopted: same name, account and pixel
    assert store.job_owners() == {
        ("shop", key): {JobStatus.DELIVERED: 1},
        ("shop", ""): {JobStatus.PENDING: 1},  # another pixel: never adopted here
    }
    # The one no destination here matches is never sent from here, and said so.
    assert service.tidy() == 1


def test_a_sqlite_outbox_from_before_keys(tmp_path: Path) -> None:
    old_sqlite(tmp_path / "q.db")
    store = SqliteStore(tmp_path / "q.db")
    try:
        assert store.schema_version >= 8
        check_upgrade(store)
    finally:
        store.close()


@pytest.mark.postgres
def test_a_postgresql_outbox_from_before_keys() -> None:
    with temp_schema() as url:
        old_postgresql(url)
        store = PostgresStore(url)
        try:
            assert store.schema_version >= 8
            check_upgrade(store)
        finally:
            store.close()
