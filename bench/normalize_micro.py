"""Micro-benchmark of identifier extraction (not collected by pytest).

Run: .venv/bin/python bench/normalize_micro.py
Reports the best of 5 runs in µs per call, so that a busy machine disturbs it less.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any

from xconduit.events import loads, parse_event
from xconduit.normalize import conversion_identifiers, hash_email, hash_phone

RAW = (
    b'{"type":"track","event":"Order Completed","userId":"u1","messageId":"m1",'
    b'"timestamp":"2024-05-01T12:00:00.000Z",'
    b'"properties":{"email":"Test@Example.com","order_id":"o1","revenue":10}}'
)
EMAIL_ONLY = parse_event(loads(RAW))
BROWSER = parse_event(
    {
        "type": "track",
        "event": "Order Completed",
        "userId": "u1",
        "properties": {"email": "test@example.com"},
        "context": {
            "ip": "203.0.113.9",
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
            "page": {"url": "https://shop.example/checkout?step=2", "search": "?step=2"},
            "traits": {"name": "n"},
        },
    }
)


def best(fn: Callable[[], Any], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    unique = iter(
        [
            parse_event(
                {
                    "type": "track",
                    "event": "E",
                    "userId": "u",
                    "properties": {"email": f"a{i}@b.com", "phone": f"+1415{i:07d}"},
                }
            )
            for i in range(5 * 20_000)
        ]
    )
    rows = [
        ("hash_email", best(lambda: hash_email(" Test@Example.com "), 100_000)),
        ("hash_phone, cached", best(lambda: hash_phone("(415) 555-0100", "US"), 100_000)),
        (
            "identifiers, email-only event",
            best(lambda: conversion_identifiers(EMAIL_ONLY), 100_000),
        ),
        ("identifiers, browser event", best(lambda: conversion_identifiers(BROWSER), 100_000)),
        (
            "identifiers, email+phone unique",
            best(lambda: conversion_identifiers(next(unique)), 20_000),
        ),
        (
            "loads + parse_event + identifiers",
            best(lambda: conversion_identifiers(parse_event(loads(RAW))), 100_000),
        ),
    ]
    for name, micros in rows:
        print(f"{name:36} {micros:6.2f} µs")


if __name__ == "__main__":
    main()
