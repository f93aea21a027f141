"""PostgreSQL keeps a job in two tables (its payload, its state) with no foreign key between
them (migration 0018): the statements that write and delete one write and delete the other."""

from __future__ import annotations

import pytest

from tests.support.outbox_factories import event
from tests.support.pgtemp import temp_schema
from xconduit.outbox.postgres import PostgresStore

pytestmark = pytest.mark.postgres


def ids(store: PostgresStore, table: str) -> list[int]:
    return [int(row[0]) for row in store._read(f"SELECT id FROM {table} ORDER BY id", {})]


def test_purges_leave_no_payload_without_its_state_nor_the_reverse() -> None:
    with temp_schema() as url:
        store = PostgresStore(url)
        store.commit_events([event(f"m{n}") for n in range(6)], now=1_000.0)
        jobs = store.claim_batch("shop", limit=6, now=1_001.0, lease_seconds=30)
        by_message = {job.message_id: job.id for job in jobs}
        store.dead_letter(
            [(by_message["m0"], "http_400"), (by_message["m1"], "http_400")], now=1_002.0
        )
        store.mark_delivered([by_message["m2"], by_message["m3"]], now=1_002.0)
        store.release([by_message["m4"], by_message["m5"]], now=1_002.0)

        assert store.purge_dead(ids=[by_message["m0"]]) == 1
        assert store.purge_delivered(older_than=2_000.0) == 2
        assert store.purge_dead() == 1
        left = sorted([by_message["m4"], by_message["m5"]])
        assert ids(store, "job_payloads") == left
        assert ids(store, "job_state") == left
        assert [
            job.message_id
            for job in store.claim_batch("shop", limit=9, now=1_003.0, lease_seconds=30)
        ] == ["m4", "m5"]
        store.close()
