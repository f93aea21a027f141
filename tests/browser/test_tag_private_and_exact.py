"""The tag's half of "private everywhere, exact on both legs" (issue 8): personal order ids are
hashed as the server hashes them, the pixel gets the server's E.164 phone and trimmed lower-case
email, `content_price` is a number, money is bounded, and the legacy Purchase value and currency
fall back as the server's do. Each row is also checked against the server's own function."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.support.tag_harness import TagPage
from tests.unit.normalize.test_normalize_redact import LEAKING_IDS, ORDINARY_IDS
from xconduit.mapping.values import BadValue, conversion_value, products_of
from xconduit.normalize import normalize_email, normalize_phone
from xconduit.normalize.redact import private_id, redact
from xconduit.tag import public_tag_settings

pytestmark = pytest.mark.browser

EVENTS = {"Order Completed": "tw-uni1-purch", "Signed Up": "tw-uni1-a"}


def event_tag(**extra: Any) -> dict[str, Any]:
    return {"syntax": "event", "universal_pixel_id": "uni1", "events": EVENTS, **extra}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ---- conversion id: an email or phone is sent as its SHA-256 on both legs ----
@pytest.mark.parametrize(
    "order_id",
    [
        "someone@example.com",
        " Someone@Example.com ",
        "+1 (415) 555-0199",
        "+14155550199",
        "415-555-0199",
        "jürgen@exämple.de",
        "100045678",  # a bare number is an order number
        "o-77",
        "2024-05-01",
    ],
)
def test_a_personal_order_id_is_hashed_on_both_legs(tag_page: TagPage, order_id: str) -> None:
    expected = private_id(order_id.strip())  # the server's rule
    tag_page.open(event_tag())
    tag_page.track("Order Completed", {"order_id": order_id, "revenue": 5})
    [[_, _, params]] = tag_page.twq()
    [sent] = tag_page.events()
    assert params["conversion_id"] == expected
    assert sent["properties"]["conversion_id"] == expected


TRICKY_IDS = [
    "jürgen@exämple.de",
    "ünïcödé-415-555-0142",
    "é415-555-0142",  # glued to a letter: a code, on both legs
    "\U0001d400415-555-0142",  # glued to a letter outside the BMP
    "415-555-0142\U0001d400",
    "(0) 1234 567890",
    "+(415) 555-0142",
    "++14155550142",
    "tel:+1-415-555-0142;ext=7",
    "12-34 415-555-0142",
    "2024-11-30 415-555-0142",
    "0123-4567-8901",
    "f81d4fae-0123-4567-8901-abcdef012345x",
    "a@b.c@d.e",
    "x+1 415 555 0142",
    "ab+1 415 555 0142",
    "m6 (415) 555-7373 x9",
    "é6 415-555-0142",
    "415-555 0142é",
    "\U0001d4006 (415) 555-7373",
    "@@",
    "",
]


def test_the_tag_finds_personal_data_in_ids_as_the_server_does(tag_page: TagPage) -> None:
    """The rule of both legs, row by row: leaking ids, ordinary ones and odd ones."""
    tag_page.open(event_tag())
    ids = [*LEAKING_IDS, *ORDINARY_IDS, *TRICKY_IDS]
    got = tag_page.page.evaluate("(ts) => ts.map((t) => window.xconduit.core.privateId(t))", ids)
    assert dict(zip(ids, got, strict=True)) == {text: private_id(text) for text in ids}
    assert all(got[i] == sha(text) for i, text in enumerate(LEAKING_IDS))


@pytest.mark.parametrize(
    "order_id", ["ORDER:leak1@example.com", "ord +1 415 555 0142", "ord-415-555-0142"]
)
def test_an_order_id_containing_personal_data_is_hashed_on_both_legs(
    tag_page: TagPage, order_id: str
) -> None:
    tag_page.open(event_tag())
    tag_page.track(
        "Order Completed",
        {
            "order_id": order_id,
            "revenue": 5,
            "products": [
                {"product_id": "pid leak6@example.com", "product_group_id": "g 415-555-0142"}
            ],
        },
    )
    [[_, _, params]] = tag_page.twq()
    [sent] = tag_page.events()
    assert params["conversion_id"] == sent["properties"]["conversion_id"] == sha(order_id)
    [item] = params["contents"]
    assert item["content_id"] == sha("pid leak6@example.com")  # as the server sends it
    assert item["content_group_id"] == sha("g 415-555-0142")


FREE_TEXTS = [
    "Gift wrap please",
    "Send to jane.doe+gift@mail.example.co.uk",
    "a@b.co, c@d.io",
    "call +1 (415) 555-0199 after 6",
    "call 0044 7911 123456!",
    "mobile 07911123456",
    "Ünïcödé@exämple.de",
    "Order #1001, 2 items",
    "delivered 2024-05-01",
    "Total 1299.99 EUR",
    "iPhone 15 Pro 256GB",
    "user@localhost",
    "x415-555-0199",
    "é 415-555-0199 é",
]


def test_the_tag_redacts_free_text_as_the_server_does(tag_page: TagPage) -> None:
    tag_page.open(event_tag())
    got = tag_page.page.evaluate(
        "(ts) => ts.map((t) => window.xconduit.core.redact(t))", FREE_TEXTS
    )
    assert dict(zip(FREE_TEXTS, got, strict=True)) == {text: redact(text) for text in FREE_TEXTS}


def test_the_pixel_gets_product_names_and_categories_redacted(tag_page: TagPage) -> None:
    tag_page.open(event_tag())
    product = {
        "product_id": "p-1",
        "name": "Mug for jane@mail.example",
        "category": "call 415-555-0199",
    }
    tag_page.track("Order Completed", {"order_id": "o-1", "products": [product]})
    [[_, _, params]] = tag_page.twq()
    [item] = params["contents"]
    assert (item["content_name"], item["content_type"]) == ("Mug for [email]", "call [phone]")


def test_the_legacy_purchase_order_id_is_hashed_too(tag_page: TagPage) -> None:
    tag_page.open({"syntax": "legacy", "universal_pixel_id": "uni1"})
    tag_page.track("Order Completed", {"order_id": "someone@example.com", "revenue": 5})
    [_, [_, _, params]] = tag_page.twq()
    assert params["order_id"] == sha("someone@example.com")


# ---- the pixel's email and phone (send_pii_to_pixel) ----
@pytest.mark.parametrize(
    ("region", "phone"),
    [
        ("US", "+1 (415) 555-0199"),
        ("US", "415-555-0199"),
        ("US", "(415) 555 0199"),
        ("US", "1 415 555 0199"),
        ("US", 4155550199),
        ("GB", "07911 123456"),
        ("GB", "+44 7911 123456"),
        ("DE", "030 1234567"),
        ("FR", "06 12 34 56 78"),
        ("US", "call me"),
        ("US", "12"),
    ],
)
def test_the_pixel_gets_the_server_s_e164(tag_page: TagPage, region: str, phone: Any) -> None:
    settings = public_tag_settings(
        {"universal_pixel_id": "uni1", "send_pii_to_pixel": True},
        events=EVENTS,
        phone_region=region,
    )
    tag_page.open(settings)
    tag_page.track("Signed Up", {"phone": phone, "email": "  Ana.Doe@Example.COM "})
    [[_, _, params]] = tag_page.twq()
    assert params.get("phone_number") == normalize_phone(phone, region)
    assert params["email_address"] == "ana.doe@example.com"


@pytest.mark.parametrize(
    "email",
    [
        " Ana.Doe@Example.COM ",
        "jöhn@exämple.de",
        "o'brien+tag@mail.example.co.uk",
        "bad@@victim.example",
        "@@",
        "a b@c.example",
        "ana@example.com\x00x",
        "ana@exa\u200bmple.com",
        ".ana@example.com",
        "ana@-example.com",
        "ana@localhost",
        "ana@192.0.2.1",
        "a" * 65 + "@example.com",
    ],
)
def test_the_pixel_gets_an_email_only_where_the_server_hashes_one(
    tag_page: TagPage, email: str
) -> None:
    tag_page.open(event_tag(send_pii_to_pixel=True))
    tag_page.track("Signed Up", {"email": email})
    [[_, _, params]] = tag_page.twq()
    assert params.get("email_address") == normalize_email(email)


def test_an_email_without_at_is_not_given_to_the_pixel(tag_page: TagPage) -> None:
    tag_page.open(event_tag(send_pii_to_pixel=True))
    tag_page.track("Signed Up", {"email": "not an email"})
    [[_, _, params]] = tag_page.twq()
    assert "email_address" not in params


# ---- money ----
def server_value(props: dict[str, Any]) -> float | None:
    try:
        value = conversion_value(props, products_of(props))
    except BadValue:
        return None
    return None if value is None else float(value)


@pytest.mark.parametrize(
    ("props", "value"),
    [
        ({"value": -1}, None),
        ({"value": "-2.5"}, None),
        ({"revenue": 1e15}, None),
        ({"value": 1000000000000000000}, None),
        ({"value": 999999999999999}, 999999999999999),
        ({"products": [{"price": -5, "quantity": 1}]}, None),
        ({"value": 0}, 0),
    ],
)
def test_money_is_bounded_as_the_server_bounds_it(
    tag_page: TagPage, props: dict[str, Any], value: float | None
) -> None:
    assert server_value(props) == value, "the row disagrees with the server's rule"
    tag_page.open(event_tag())
    tag_page.track("Order Completed", {"order_id": "o-1", **props})
    [[_, _, params]] = tag_page.twq()
    assert params.get("value") == value


def test_content_price_is_a_number(tag_page: TagPage) -> None:
    tag_page.open(event_tag())
    tag_page.track(
        "Order Completed",
        {"order_id": "o-1", "products": [{"product_id": "p", "price": "100.99"}, {"price": 3}]},
    )
    [[_, _, params]] = tag_page.twq()
    assert [item["content_price"] for item in params["contents"]] == [100.99, 3]


@pytest.mark.parametrize(
    ("props", "value", "x_currency"),
    [
        ({"products": [{"price": 10, "quantity": 2}, {"price": "5.5"}]}, "25.50", "JPY"),
        ({"price": 4, "quantity": 3, "currency": "eur"}, "12.00", "EUR"),
        ({"revenue": 7}, "7.00", "JPY"),
        ({}, None, None),
    ],
)
def test_legacy_purchase_value_and_currency_fall_back_as_the_server(
    tag_page: TagPage,
    props: dict[str, Any],
    value: str | None,
    x_currency: str | None,
) -> None:
    server = conversion_value(props, products_of(props))
    assert server == value, "the row disagrees with the server's rule"
    tag_page.open({"syntax": "legacy", "universal_pixel_id": "uni1", "default_currency": "jpy"})
    tag_page.track("Order Completed", {"order_id": "o-1", **props})
    [_, [_, _, params]] = tag_page.twq()
    assert params.get("value") == value
    assert params.get("currency") == x_currency


@pytest.mark.parametrize(
    "props",
    [{"value": 0}, {"revenue": "0.00"}, {"products": [{"price": 0, "quantity": 2}]}],
)
def test_a_zero_legacy_purchase_sends_no_value_or_currency(
    tag_page: TagPage, props: dict[str, Any]
) -> None:
    # The legacy Purchase carries `value` only when it is not zero (docs/reference/mapping.md
    # §4.2), and its `currency` only beside a value; the server leg still sends "0.00".
    assert conversion_value(props, products_of(props)) == "0.00"
    tag_page.open({"syntax": "legacy", "universal_pixel_id": "uni1", "default_currency": "jpy"})
    tag_page.track("Order Completed", {"order_id": "o-1", **props})
    [_, [_, _, params]] = tag_page.twq()
    assert "value" not in params
    assert "currency" not in params
    assert params["order_id"] == "o-1"


def test_sha256_matches_python_s(tag_page: TagPage) -> None:
    tag_page.open(event_tag())
    texts = ["", "abc", "x" * 55, "y" * 56, "z" * 64, "é✓" * 40, "someone@example.com"]
    got = tag_page.page.evaluate("(ts) => ts.map((t) => window.xconduit.core.sha256(t))", texts)
    assert got == [sha(t) for t in texts]


@pytest.mark.parametrize(
    ("amount", "text"),
    [(0.001, "0.001"), (12.345, "12.345"), (25, "25.00"), (12.5, "12.50"), (1e-7, "0.0000001")],
)
def test_amounts_keep_their_digits_on_both_legs(
    tag_page: TagPage, amount: float, text: str
) -> None:
    """The server's `value` string; the current pixel's numbers; the legacy Purchase string."""
    product = {"product_id": "p", "price": amount}
    assert conversion_value({"value": amount}, []) == text
    tag_page.open(event_tag())
    tag_page.track("Order Completed", {"order_id": "o-1", "value": amount, "products": [product]})
    [[_, _, params]] = tag_page.twq()
    assert (params["value"], params["contents"][0]["content_price"]) == (amount, amount)
    tag_page.open({"syntax": "legacy", "universal_pixel_id": "uni1"})
    tag_page.track("Order Completed", {"order_id": "o-1", "value": amount})
    [_, [_, tag, purchase]] = tag_page.twq()
    assert (tag, purchase["value"]) == ("Purchase", text)
