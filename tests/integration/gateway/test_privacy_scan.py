"""Raw personal data never reaches a log, the outbox files or X (the built-in sandbox).

Distinctive emails and phone numbers go through every field of the Segment spec that a shop might
fill (ids, traits, properties, page context, free text, product fields, unknown properties, bad
values that make the event invalid) and through every field of X's conversion payload. Then the
store files (with `-wal` and `-shm`), every log line at DEBUG, every answer of the collector and
everything the sandbox received are searched for them: there must be no hit.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.gateway_live import SERVER_KEY, SHOP, WEB_KEY, gateway_settings, running_gateway

EMAIL = "Zed.Leaky.4242@Privacy-Probe.example"
FREE_EMAIL = "free.text.9191@privacy-probe.example"
PHONE = "+1 (415) 555-4242"
E164 = "+14155554242"
FREE_PHONE = "+44 7911 129191"
HANDLE = "@leakyhandle"

NEEDLES = (
    "privacy-probe",  # every email above, whatever the case
    "leaky",  # the email's local part, the handle, the name
    "555-4242",
    "555 4242",
    "5554242",  # the phone's digits, E.164 included
    "7911 129191",
    "7911129191",
)
"""Lower-case fragments of the raw values; a hash of them contains none."""

URL = f"{SHOP}/thanks?email=zed.leaky.4242%40privacy-probe.example&phone=4155554242"


def _context() -> dict[str, Any]:
    return {
        "traits": {
            "email": EMAIL,
            "phone": PHONE,
            "name": "Leaky Person",
            "twitter_handle": HANDLE,
            "address": {"street": "1 Leaky Lane", "city": "Probe"},
        },
        "page": {
            "url": URL + "&twclid=23opevjt88psuo13lu8d020qkn",
            "search": "?email=zed.leaky.4242@privacy-probe.example",
            "title": f"Thanks {EMAIL}",
            "referrer": f"https://mail.example/?to={FREE_EMAIL}",
            "path": "/thanks",
        },
        "ip": "203.0.113.9",
        "userAgent": "Mozilla/5.0 (probe)",
        "campaign": {"name": "leaky campaign", "content": FREE_EMAIL},
    }


def _order(**props: Any) -> dict[str, Any]:
    base = {
        "type": "track",
        "event": "Order Completed",
        "userId": EMAIL,
        "anonymousId": PHONE,
        "context": _context(),
        "properties": {
            "email": EMAIL,
            "phone": PHONE,
            "order_id": EMAIL,
            "revenue": 20,
            "currency": "EUR",
            "description": f"Gift for {FREE_EMAIL}, call {FREE_PHONE} or {PHONE}",
            "twclid": EMAIL,
            "custom_note": f"{EMAIL} {PHONE}",
            "products": [
                {
                    "product_id": "p-1",
                    "sku": "sku-1",
                    "name": f"Engraved {FREE_EMAIL}",
                    "category": f"call {FREE_PHONE}",
                    "product_group_id": "g-1",
                    "price": 10,
                    "quantity": 2,
                }
            ],
        },
    }
    base["properties"].update(props)  # type: ignore[attr-defined]
    return base


def _events() -> list[dict[str, Any]]:
    """Six conversions X receives, and events that are invalid, filtered or rejected."""
    return [
        _order(),
        {
            "type": "track",
            "event": "Signed Up",
            "userId": "u-1",
            "properties": {"conversion_id": PHONE, "phone": PHONE, "name": "Leaky Person"},
            "context": _context(),
        },
        {
            "type": "track",
            "event": "Product Added",
            "anonymousId": "a-1",
            "properties": {"order_id": E164, "email": EMAIL, "name": f"{FREE_EMAIL}"},
        },
        {
            "type": "page",
            "name": f"Thanks {EMAIL}",
            "anonymousId": "a-2",
            "properties": {"url": URL, "title": EMAIL, "email": EMAIL},
            "context": {"traits": {"email": EMAIL}},
        },
        {
            "type": "track",
            "event": "Lead Generated",
            "anonymousId": "a-3",
            "properties": {"email": EMAIL},
            "context": {"twclid": PHONE},
        },
        {"type": "identify", "userId": EMAIL, "traits": {"email": EMAIL, "phone": PHONE}},
        {"type": "group", "userId": "u-2", "groupId": EMAIL, "traits": {"email": EMAIL}},
        {"type": "alias", "userId": "u-3", "previousId": EMAIL},
        # invalid for X: the reason names the field and the rule
        _order(revenue=EMAIL),
        _order(value=PHONE),
        _order(currency=PHONE),
        _order(products=[{"product_id": "p", "price": FREE_PHONE}]),
        _order(email=None, phone=None, twclid=EMAIL, order_id="o-9"),
        # filtered: an event name nobody mapped
        {"type": "track", "event": EMAIL, "userId": "u-4", "properties": {"email": EMAIL}},
        # rejected by the collector
        {"type": "track", "event": "Order Completed", "userId": "u-5", "timestamp": EMAIL},
        {"type": EMAIL, "userId": "u-6"},
        {"type": "track", "event": "Order Completed", "userId": "u-7", "sentAt": PHONE},
        {"type": "track", "event": "Order Completed", "userId": "u-8", "properties": EMAIL},
    ]


CONVERSIONS = 6


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class _AllLoggers:
    """A handler on the root logger and on every logger that does not propagate, at DEBUG."""

    def __init__(self) -> None:
        self.handler = _Lines()
        self.levels: dict[logging.Logger, int] = {}

    def attach(self) -> None:
        """(Again) for loggers created since, e.g. by uvicorn when the server starts."""
        loggers = [logging.getLogger()] + [
            logger
            for logger in logging.root.manager.loggerDict.values()
            if isinstance(logger, logging.Logger) and not logger.propagate
        ]
        for logger in loggers:
            if logger not in self.levels:
                self.levels[logger] = logger.level
            if self.handler not in logger.handlers:
                logger.addHandler(self.handler)
            logger.setLevel(logging.DEBUG)

    def detach(self) -> None:
        for logger, level in self.levels.items():
            logger.removeHandler(self.handler)
            logger.setLevel(level)


@pytest.fixture
def every_log_line() -> Iterator[_AllLoggers]:
    """Every record of every logger, at DEBUG."""
    loggers = _AllLoggers()
    loggers.attach()
    try:
        yield loggers
    finally:
        loggers.detach()


def hits(where: str, text: str) -> list[str]:
    low = text.lower()
    return [f"{where}: {needle!r}" for needle in NEEDLES if needle in low]


def test_no_raw_email_or_phone_reaches_logs_store_or_x(
    tmp_path: Path, every_log_line: _AllLoggers
) -> None:
    answers: list[str] = []
    with running_gateway(gateway_settings(), tmp_path, delivery=True) as (_gateway, url):
        every_log_line.attach()  # uvicorn's loggers exist now
        with httpx.Client(base_url=url, timeout=10) as client:
            batch = client.post("/v1/batch", json={"batch": _events()}, auth=(SERVER_KEY, ""))
            answers.append(batch.text)
            assert batch.status_code == 200, batch.text
            for event in _events():  # one by one too: the single-event answers and logs
                kind = event["type"] if event["type"] in ("track", "page", "identify") else "track"
                answers.append(client.post(f"/v1/{kind}", json=event, auth=(SERVER_KEY, "")).text)
            browser = {**_order(order_id="web-1"), "writeKey": WEB_KEY}
            answers.append(
                client.post("/v1/track", content=_json(browser), headers={"Origin": SHOP}).text
            )
            answers.append(client.post("/v1/track", content=b'{"email": "' + EMAIL.encode()).text)
            conversions = _wait_for(client, CONVERSIONS * 2 + 1)
            received = client.get("/_sandbox/requests").text
            seen = client.get("/_sandbox/conversions").text
        store_files = {p.name: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert any(name.endswith("-wal") for name in store_files)
    found: list[str] = []
    for name, data in store_files.items():
        found += hits(f"store file {name}", data.decode("latin-1"))
    assert every_log_line.handler.lines  # the capture works (httpx, delivery, X client log)
    for line in every_log_line.handler.lines:
        found += hits(f"log line {line[:200]!r}", line)
    for answer in answers:
        found += hits(f"answer {answer[:300]!r}", answer)
    found += hits("sandbox requests", received)
    found += hits("sandbox conversions", seen)
    assert found == [], f"{len(found)} raw value(s) found:\n" + "\n".join(found)
    assert len(conversions) == CONVERSIONS * 2 + 1  # one batch, one by one, one from the browser
    ids = {c.get("conversion_id") for c in conversions}
    assert hashlib.sha256(EMAIL.encode()).hexdigest() in ids  # the order id, hashed
    assert hashlib.sha256(E164.encode()).hexdigest() in ids


def _json(value: Any) -> bytes:
    import orjson

    return orjson.dumps(value)


def _wait_for(client: httpx.Client, count: int) -> list[dict[str, Any]]:
    import time

    deadline = time.monotonic() + 20
    while True:
        data: list[dict[str, Any]] = client.get("/_sandbox/conversions").json()["data"]
        if len(data) >= count or time.monotonic() > deadline:
            return data
        time.sleep(0.05)
