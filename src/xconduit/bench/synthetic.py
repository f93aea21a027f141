"""Synthetic Segment events for benchmarks: deterministic, realistic, unique where it matters."""

from __future__ import annotations

import random
from typing import Any

import orjson

_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
_PRODUCTS = [
    {
        "product_id": f"p{i:04d}",
        "sku": f"SKU-{i:05d}",
        "name": f"Product {i}",
        "category": ("Shoes", "Hats", "Bags")[i % 3],
        "price": round(5 + (i % 50) * 1.25, 2),
    }
    for i in range(200)
]


def _base(i: int, event: str) -> dict[str, Any]:
    return {
        "type": "track",
        "event": event,
        "userId": f"user-{i}",
        "messageId": f"msg-{i:08d}",
        "timestamp": (
            f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}.{i % 1000:03d}Z"
        ),
    }


def phone_for(i: int) -> str:
    """A unique, possible US number per i, in the formats people type."""
    area = 201 + (i // 1_000_000) % 700
    exchange, line = 200 + (i // 10_000) % 100, i % 10_000
    formats = (
        f"({area}) {exchange}-{line:04d}",
        f"+1 {area} {exchange} {line:04d}",
        f"{area}.{exchange}.{line:04d}",
        f"1-{area}-{exchange}-{line:04d}",
    )
    return formats[i % 4]


def email_only(i: int) -> dict[str, Any]:
    event = _base(i, "Order Completed")
    event["properties"] = {
        "email": f"Customer.{i}@Example.com",
        "order_id": f"o-{i}",
        "revenue": 10 + i % 90,
        "currency": "usd",
    }
    return event


def email_phone(i: int) -> dict[str, Any]:
    event = email_only(i)
    event["properties"]["phone"] = phone_for(i)
    return event


def order_full(i: int) -> dict[str, Any]:
    rng = random.Random(i)
    event = _base(i, "Order Completed")
    products = []
    for product in rng.sample(_PRODUCTS, 3):
        products.append({**product, "quantity": rng.randint(1, 3)})
    event["properties"] = {
        "order_id": f"o-{i}",
        "total": 99.5,
        "revenue": 90.0,
        "currency": "EUR",
        "email": f"customer.{i}@example.com",
        "phone": phone_for(i),
        "products": products,
    }
    event["context"] = {
        "ip": f"10.{i % 256}.{(i // 256) % 256}.{(i // 65536) % 256}",
        "userAgent": _USER_AGENT,
        "page": {"url": f"https://shop.example/checkout/done?twclid={i:026d}"},
        "traits": {"email": f"customer.{i}@example.com"},
    }
    return event


PROFILES = {
    "email only": email_only,
    "email + phone (unique)": email_phone,
    "Order Completed, 3 products, all identifiers": order_full,
}


def lines(profile: str, count: int) -> list[bytes]:
    make = PROFILES[profile]
    return [orjson.dumps(make(i)) for i in range(count)]
