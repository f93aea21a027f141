"""A row and the same data sent as a Segment event through a real gateway give byte-identical
conversions: both go through the collector's mapping core."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson

from tests.support.sync_setup import DESTINATION
from xconduit.app import build_gateway
from xconduit.config import Settings
from xconduit.config.identity import owner_keys
from xconduit.outbox.sqlite import SqliteStore
from xconduit.serving import serve_in_thread
from xconduit.sync import run_sync

ROW = {
    "order_id": "order-77",
    "email": "  Jane.Doe@Example.com",
    "phone": "+44 20 7946 0958",
    "click": "tw-click-9",
    "ip": "203.0.113.9",
    "ua": "Mozilla/5.0 (X11)",
    "total": "199.9",
    "cur": "gbp",
    "ts": "2026-03-01T10:15:30.250+01:00",
    "qty": 2,
    "note": "gift wrap",
    "basket": [
        {
            "content_id": "sku-9",
            "content_name": "Teapot",
            "content_price": 99.95,
            "num_items": 2,
            "content_type": "kitchen",
        }
    ],
}
EVENT = {
    "type": "track",
    "event": "order completed",
    "userId": "user-77",
    "timestamp": ROW["ts"],
    "properties": {
        "order_id": ROW["order_id"],
        "email": ROW["email"],
        "phone": ROW["phone"],
        "twclid": ROW["click"],
        "ip_address": ROW["ip"],
        "user_agent": ROW["ua"],
        "value": ROW["total"],
        "currency": ROW["cur"],
        "quantity": ROW["qty"],
        "description": ROW["note"],
        "products": [
            {
                "product_id": "sku-9",
                "name": "Teapot",
                "price": 99.95,
                "quantity": 2,
                "category": "kitchen",
            }
        ],
    },
}
COLUMNS = {
    "conversion_id": "order_id",
    "email": "email",
    "phone": "phone",
    "twclid": "click",
    "ip_address": "ip",
    "user_agent": "ua",
    "value": "total",
    "currency": "cur",
    "conversion_time": "ts",
    "number_items": "qty",
    "description": "note",
    "contents": "basket",
}


def test_a_row_and_the_segment_event_give_the_same_bytes(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "sources": [{"name": "server", "write_keys": ["wk_server"]}],
            "conversions": [{**DESTINATION, "phone_region": "GB"}],
            "syncs": [
                {
                    "name": "orders",
                    "destination": "shop",
                    "source": "orders.jsonl",
                    "event": "Order Completed",
                    "columns": COLUMNS,
                }
            ],
        }
    )
    (tmp_path / "orders.jsonl").write_bytes(orjson.dumps(ROW) + b"\n")
    store = SqliteStore(tmp_path / "outbox.db")
    gateway = build_gateway(settings, store=store, delivery=False)
    gateway.start()
    try:
        with serve_in_thread(gateway.app) as url:
            answer = httpx.post(f"{url}/v1/track", json=EVENT, auth=("wk_server", ""))
            assert answer.status_code == 200, answer.text
        result = run_sync(settings, "orders", store, reports=tmp_path / "r", base_dir=tmp_path)
        assert (result.enqueued, result.rejected) == (1, 0)
        # The collector and the sync tag their jobs alike: one key, one claim.
        owner = owner_keys(settings)["shop"]
        from_event, from_row = store.claim_batch(
            "shop", limit=10, now=9e12, lease_seconds=60, owner=owner
        )
        assert from_row.payload == from_event.payload
        assert b"hashed_phone_number" in from_row.payload  # the destination's phone region was used
        assert b"Jane" not in from_row.payload
    finally:
        gateway.stop()
