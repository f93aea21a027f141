"""Raw personal data never reaches a log, the outbox files, the dashboard or X (the sandbox).

Distinctive emails and phone numbers go through every field of the Segment spec that a shop might
fill (ids, traits, properties, page context, free text, product fields, unknown properties, bad
values that make the event invalid) and through every field of X's conversion payload, both as
the whole value and *inside* other text (`ORDER:jane@…`, a user agent with an address in it).
Then the store files (with `-wal` and `-shm`), every log line at DEBUG, every answer of the
collector, the dashboard's pages (the live debugger included) and everything the sandbox received
are searched for them: there must be no hit.
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

# Inside other text: in ids, user agents, URLs, names (`ORDER:<email>`, `ord <phone>`).
IN_EMAIL = "Inside.7373@Contained-Probe.example"
IN_PHONE = "+1 415 555 7373"
IN_PHONE_US = "(415) 555-7373"
IN_PHONE_UK = "07911 737373"

NEEDLES = (
    "privacy-probe",  # every email above, whatever the case
    "leaky",  # the email's local part, the handle, the name
    "555-4242",
    "555 4242",
    "5554242",  # the phone's digits, E.164 included
    "7911 129191",
    "7911129191",
    "contained-probe",
    "inside.7373",
    "555 7373",
    "555-7373",
    "5557373",
    "7911 737373",
    "7911737373",
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


def _contained_context() -> dict[str, Any]:
    return {
        "traits": {
            "email": f"mail {IN_EMAIL}",
            "phone": f"call {IN_PHONE}",
            "name": f"Person {IN_EMAIL}",
            "twitter_handle": f"@h {IN_PHONE_UK}",
            "address": {"street": f"c/o {IN_EMAIL}", "postal_code": IN_PHONE_US},
        },
        "page": {
            "url": f"{SHOP}/thanks/{IN_EMAIL}?tel={IN_PHONE_US}",
            "path": f"/u/{IN_EMAIL}",
            "search": f"?who={IN_EMAIL}&tel={IN_PHONE}",
            "title": f"Order for {IN_EMAIL} ({IN_PHONE_US})",
            "referrer": f"https://mail.example/inbox/{IN_EMAIL}",
        },
        "ip": "203.0.113.9",
        "userAgent": f"Mozilla/5.0 (probe; {IN_EMAIL}; tel {IN_PHONE}) Chrome/120.0.6099.109",
        "campaign": {"name": f"c {IN_EMAIL}", "source": IN_PHONE_UK, "term": f"t {IN_PHONE}"},
        "device": {"advertisingId": f"dev {IN_EMAIL}", "model": f"m {IN_PHONE_US}"},
        "library": {"name": f"lib {IN_EMAIL}", "version": IN_PHONE_UK},
        "locale": f"en {IN_EMAIL}",
        "twclid": f"tw {IN_PHONE}",
    }


def _contained_events() -> list[dict[str, Any]]:
    """Personal data inside ids, user agents, URLs and names (sent once: they carry ids)."""
    order: dict[str, Any] = {
        "type": "track",
        "event": "Order Completed",
        "messageId": f"msg {IN_EMAIL}",
        "userId": f"user {IN_EMAIL}",
        "anonymousId": f"anon {IN_PHONE_UK}",
        "context": _contained_context(),
        "integrations": {"All": True, "note": IN_EMAIL},
        "properties": {
            "order_id": f"ORDER:{IN_EMAIL}",
            "checkout_id": f"chk {IN_PHONE}",
            "revenue": 12,
            "currency": "EUR",
            "user_agent": f"MyApp/2.3 (user {IN_EMAIL}; {IN_PHONE_US})",
            "description": f"for {IN_EMAIL} {IN_PHONE_UK}",
            "coupon": IN_PHONE_UK,
            "products": [
                {
                    "product_id": f"pid {IN_EMAIL}",
                    "sku": f"sku {IN_PHONE_US}",
                    "product_group_id": f"grp {IN_PHONE}",
                    "name": f"Mug for {IN_EMAIL}",
                    "category": f"call {IN_PHONE_UK}",
                    "brand": IN_EMAIL,
                    "url": f"{SHOP}/p/{IN_EMAIL}",
                    "image_url": f"{SHOP}/i/{IN_PHONE_US}",
                    "price": 6,
                    "quantity": 2,
                }
            ],
        },
    }
    return [
        order,
        {  # the id in `conversion_id`, with a phone; an IP address that is not one
            **order,
            "messageId": f"msg2 {IN_PHONE}",
            "properties": {
                **order["properties"],
                "conversion_id": f"ord {IN_PHONE}",
                "ip_address": f"ip {IN_EMAIL}",
            },
        },
        {  # no order id: the conversion id is the message id
            "type": "track",
            "event": "Signed Up",
            "messageId": f"sign-up {IN_PHONE_US}",
            "anonymousId": f"a {IN_EMAIL}",
            "context": _contained_context(),
            "properties": {"email": IN_EMAIL, "product_id": f"p {IN_PHONE_UK}"},
        },
        {
            "type": "page",
            "name": f"Thanks {IN_EMAIL}",
            "messageId": f"page {IN_EMAIL}",
            "anonymousId": "a-9",
            "context": _contained_context(),
            "properties": {"url": f"{SHOP}/{IN_EMAIL}", "title": f"t {IN_PHONE}"},
        },
        # filtered, invalid, rejected: the reasons name fields, never these values
        {**order, "messageId": f"m3 {IN_EMAIL}", "event": f"Order {IN_EMAIL}"},
        {
            **order,
            "messageId": f"m4 {IN_PHONE}",
            "properties": {**order["properties"], "currency": f"EUR {IN_EMAIL}"},
        },
        {
            **order,
            "messageId": f"m5 {IN_EMAIL}",
            "properties": {**order["properties"], "revenue": f"12 {IN_PHONE}"},
        },
        {**order, "messageId": f"m6 {IN_PHONE_US}", "timestamp": f"2026 {IN_EMAIL}"},
        {**order, "messageId": f"m7 {IN_EMAIL}", "userId": {"id": IN_EMAIL}},
    ]


CONTAINED_CONVERSIONS = 4  # two orders, a sign-up, a page


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
            contained = client.post(
                "/v1/batch", json={"batch": _contained_events()}, auth=(SERVER_KEY, "")
            )
            assert contained.status_code == 200, contained.text
            answers.append(contained.text)
            answers.append(
                client.post(
                    "/v1/track",
                    content=_json({**_contained_events()[0], "writeKey": WEB_KEY}),
                    headers={"Origin": SHOP},
                ).text
            )
            total = CONVERSIONS * 2 + 1 + CONTAINED_CONVERSIONS + 1
            conversions = _wait_for(client, total)
            received = client.get("/_sandbox/requests").text
            seen = client.get("/_sandbox/conversions").text
            order_hash = hashlib.sha256(f"ORDER:{IN_EMAIL}".encode()).hexdigest()
            pages = [_wait_for_page(client, "/dashboard/debugger", order_hash)]
            pages += [client.get(path).text for path in ("/", "/dashboard/dead", "/metrics")]
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
    for page in pages:
        found += hits(f"dashboard page {page[:80]!r}", page)
    assert found == [], f"{len(found)} raw value(s) found:\n" + "\n".join(found)
    # one batch, one by one, one from the browser; the contained ones and the browser's copy of
    # the first (X counts it once: the same conversion id)
    assert len(conversions) == total
    ids = {c.get("conversion_id") for c in conversions}
    assert hashlib.sha256(EMAIL.encode()).hexdigest() in ids  # the order id, hashed
    assert hashlib.sha256(E164.encode()).hexdigest() in ids
    # An id that contains personal data is its SHA-256, as the website tag sends it.
    for text in (f"ORDER:{IN_EMAIL}", f"ord {IN_PHONE}", f"sign-up {IN_PHONE_US}"):
        assert hashlib.sha256(text.encode()).hexdigest() in ids, text
    contents = [item for c in conversions for item in c.get("contents", [])]
    assert {"content_id": hashlib.sha256(f"pid {IN_EMAIL}".encode()).hexdigest()}.items() <= (
        next(item for item in contents if item.get("content_name") == "Mug for [email]").items()
    )
    agents = {
        device["user_agent"]
        for c in conversions
        for device in c["identifiers"]
        if "user_agent" in device
    }
    assert "Mozilla/5.0 (probe; [email]; tel [phone]) Chrome/120.0.6099.109" in agents


def _json(value: Any) -> bytes:
    import orjson

    return orjson.dumps(value)


def _wait_for_page(client: httpx.Client, path: str, text: str) -> str:
    """The page once it shows `text` (the debugger writes its rows every half second)."""
    import time

    deadline = time.monotonic() + 20
    while True:
        page = client.get(path).text
        if text in page or time.monotonic() > deadline:
            return page
        time.sleep(0.05)


def _wait_for(client: httpx.Client, count: int) -> list[dict[str, Any]]:
    import time

    deadline = time.monotonic() + 20
    while True:
        data: list[dict[str, Any]] = client.get("/_sandbox/conversions").json()["data"]
        if len(data) >= count or time.monotonic() > deadline:
            return data
        time.sleep(0.05)
