"""docs/reference/mapping.md §3 and §6, one table row per rule."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xconduit.config import ConversionDestination
from xconduit.events import parse_event
from xconduit.mapping import ConversionMapper, MappingResult

EMAIL_HASH = (
    "e586883b2b4faf78d48300a79e0e15138d664cdf796ffb86e533170a9893eda8"  # test-email@test.com
)
TOO_LARGE = "not a number X accepts (finite, below 1e15)"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


PHONE_HASH = "1fa6b8d986d9b9cd01bf36951815158bbde9f520c0567c835dfe34783d0a4231"  # +11234567890

DEST = ConversionDestination(
    name="shop",
    account_id="18ce552mlaq",
    pixel_id="oka17",
    events={"Order Completed": "tw-oka17-ol288", "Signed Up": "ol289", "Product Added": "ol290"},
)


def run(
    props: dict[str, Any] | None = None, dest: ConversionDestination = DEST, **fields: Any
) -> MappingResult:
    raw: dict[str, Any] = {
        "type": "track",
        "event": "Order Completed",
        "userId": "u-1",
        "messageId": "msg-1",
        "timestamp": "2024-05-01T12:00:00Z",
        "properties": {"email": "test-email@test.com", **(props or {})},
    }
    raw.update(fields)
    return ConversionMapper(dest).map(parse_event(raw))


def conversion(props: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    result = run(props, **fields)
    assert result.outcome == "conversion", result.reason
    assert result.conversion is not None
    return result.conversion


def test_a_full_order_becomes_exactly_this_conversion() -> None:
    result = run(
        {
            "order_id": "o-77",
            "currency": "eur",
            "phone": "+1 (123) 456-7890",
            "description": "web order",
            "products": [
                {
                    "product_id": "p1",
                    "sku": "S1",
                    "name": "Shoe",
                    "category": "Shoes",
                    "price": 10,
                    "quantity": 2,
                },
                {"product_id": "p2", "price": "5.5", "product_group_id": "g9"},
            ],
        },
        context={"ip": "203.0.113.9", "userAgent": "Mozilla/5.0"},
    )
    assert result.outcome == "conversion"
    assert result.pixel_id == "oka17"
    assert result.conversion == {
        "conversion_time": "2024-05-01T12:00:00.000Z",
        "event_id": "tw-oka17-ol288",
        "identifiers": [
            {"hashed_email": EMAIL_HASH},
            {"hashed_phone_number": PHONE_HASH},
            {"ip_address": "203.0.113.9", "user_agent": "Mozilla/5.0"},
        ],
        "conversion_id": "o-77",
        "value": "25.50",
        "price_currency": "EUR",
        "number_items": 2,
        "contents": [
            {
                "content_id": "p1",
                "content_name": "Shoe",
                "content_type": "Shoes",
                "content_price": 10.0,
                "num_items": 2,
            },
            {"content_id": "p2", "content_group_id": "g9", "content_price": 5.5},
        ],
        "description": "web order",
    }


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"timestamp": "2024-05-01T14:30:00.123456+02:00"}, "2024-05-01T12:30:00.123Z"),
        ({"timestamp": "2024-05-01T12:00:00"}, "2024-05-01T12:00:00.000Z"),
        (
            {"timestamp": None, "originalTimestamp": "2024-01-02T03:04:05.6Z"},
            "2024-01-02T03:04:05.600Z",
        ),
        ({"timestamp": None, "receivedAt": "2024-01-02T03:04:05Z"}, "2024-01-02T03:04:05.000Z"),
        (
            {"timestamp": "2024-01-02T03:04:05Z", "receivedAt": "2025-01-01T00:00:00Z"},
            "2024-01-02T03:04:05.000Z",
        ),
    ],
)
def test_conversion_time_is_utc_with_milliseconds_and_z(
    fields: dict[str, Any], expected: str
) -> None:
    assert conversion(**fields)["conversion_time"] == expected


def test_no_time_at_all_is_invalid() -> None:
    result = run(timestamp=None)
    assert result.outcome == "invalid"
    assert result.reason is not None
    assert result.reason.startswith("conversion_time:")


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"conversion_id": "c-1", "order_id": "o-1"}, "c-1"),
        ({"conversionId": "c-2", "order_id": "o-1"}, "c-2"),
        ({"order_id": "o-1", "orderId": "o-2"}, "o-1"),
        ({"orderId": "o-2"}, "o-2"),
        ({"order_id": 12345}, "12345"),
        ({}, "msg-1"),
        ({"order_id": "  "}, "msg-1"),
    ],
)
def test_conversion_id_precedence(props: dict[str, Any], expected: str) -> None:
    assert conversion(props)["conversion_id"] == expected


@pytest.mark.parametrize(
    ("props", "value", "currency"),
    [
        ({"value": 25}, "25.00", "USD"),
        ({"value": "25.5", "revenue": 99}, "25.50", "USD"),
        ({"revenue": 10.005}, "10.005", "USD"),  # digits kept, never rounded to cents
        ({"revenue": 0.001}, "0.001", "USD"),  # a non-zero amount is never sent as zero
        ({"value": "12.3450"}, "12.345", "USD"),
        ({"value": "0.1", "revenue": 1}, "0.10", "USD"),
        ({"products": [{"price": "0.333", "quantity": 3}]}, "0.999", "USD"),
        ({"value": "1e-7"}, "0.0000001", "USD"),
        ({"revenue": 0}, "0.00", "USD"),
        ({"products": [{"price": 2.5, "quantity": 2}, {"price": 1}]}, "6.00", "USD"),
        ({"price": 4, "quantity": 3}, "12.00", "USD"),
        ({"price": 4}, "4.00", "USD"),
        ({"value": 1, "currency": "gbp"}, "1.00", "GBP"),
        ({}, None, None),
        ({"currency": "EUR"}, None, None),
    ],
)
def test_value_and_currency(props: dict[str, Any], value: str | None, currency: str | None) -> None:
    result = conversion(props)
    assert result.get("value") == value
    assert result.get("price_currency") == currency


@pytest.mark.parametrize(
    ("props", "reason"),
    [
        ({"value": "abc"}, "properties.value: not a number"),
        ({"revenue": [1]}, "properties.revenue: not a number"),
        ({"value": True}, "properties.value: not a number"),
        ({"products": [{"price": "free"}]}, "properties.products[0].price: not a number"),
        ({"value": 3, "currency": "dollars"}, "properties.currency: not an ISO 4217 code"),
        ({"value": "$25"}, "properties.value: not a number"),
        ({"value": "1,234.50"}, "properties.value: not a number"),
        ({"value": "1_000"}, "properties.value: not a number"),
        ({"value": "١٢"}, "properties.value: not a number"),
        ({"price": "x"}, "properties.price: not a number"),
        ({"value": "1e999"}, f"properties.value: {TOO_LARGE}"),
        ({"revenue": 1e300}, f"properties.revenue: {TOO_LARGE}"),
        ({"value": 1e18}, f"properties.value: {TOO_LARGE}"),
        ({"value": 1000000000000000000}, f"properties.value: {TOO_LARGE}"),
        ({"revenue": 10**15}, f"properties.revenue: {TOO_LARGE}"),
        ({"value": -1}, "properties.value: must not be negative"),
        ({"revenue": -0.01}, "properties.revenue: must not be negative"),
        ({"value": "-5"}, "properties.value: must not be negative"),
        ({"products": [{"price": -3}]}, "properties.products[0].price: must not be negative"),
        # personal data in a money field is never quoted back
        ({"revenue": "someone@example.com"}, "properties.revenue: not a number"),
        ({"value": 1, "currency": "+14155550199"}, "properties.currency: not an ISO 4217 code"),
    ],
)
def test_non_numeric_money_is_invalid_with_the_field(props: dict[str, Any], reason: str) -> None:
    result = run(props)
    assert (result.outcome, result.reason) == ("invalid", reason)


def test_the_largest_whole_amount_is_still_taken() -> None:
    assert conversion({"value": 10**15 - 1})["value"] == "999999999999999.00"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (
            {"timestamp": "2005-12-31T23:59:59.999Z"},
            "timestamp: before 2006, X takes no conversion before it",
        ),
        (
            {"timestamp": "1970-01-01T00:00:00Z"},
            "timestamp: before 2006, X takes no conversion before it",
        ),
        (
            {"timestamp": None, "originalTimestamp": "1999-01-01T00:00:00Z"},
            "originalTimestamp: before 2006, X takes no conversion before it",
        ),
        (
            {"timestamp": "2024-05-01T12:10:00.001Z", "receivedAt": "2024-05-01T12:00:00Z"},
            "timestamp: more than 10 minutes in the future",
        ),
        (
            {
                "timestamp": "2024-05-01T14:11:00+02:00",
                "receivedAt": "2024-05-01T12:00:00.000+00:00",
            },
            "timestamp: more than 10 minutes in the future",
        ),
    ],
)
def test_conversion_times_x_refuses_are_invalid_with_the_field(
    fields: dict[str, Any], reason: str
) -> None:
    result = run(**fields)
    assert (result.outcome, result.reason) == ("invalid", reason)


@pytest.mark.parametrize(
    "fields",
    [
        {"timestamp": "2006-01-01T00:00:00Z"},
        {"timestamp": "2024-05-01T12:10:00Z", "receivedAt": "2024-05-01T12:00:00Z"},
        {"timestamp": "2024-05-01T11:00:00Z", "receivedAt": "2024-05-01T12:00:00Z"},
    ],
)
def test_conversion_times_at_the_limits_are_taken(fields: dict[str, Any]) -> None:
    assert conversion(**fields)["conversion_time"]


def test_without_received_at_the_mapper_s_clock_bounds_the_future() -> None:
    raw = {
        "type": "track",
        "event": "Order Completed",
        "userId": "u",
        "timestamp": "2030-01-01T00:00:00Z",
        "properties": {"email": "a@b.co"},
    }
    assert ConversionMapper(DEST).map(parse_event(raw)).outcome == "conversion"
    now = 1_767_268_800.0  # 2026-01-01T12:00:00Z
    result = ConversionMapper(DEST, now=lambda: now).map(parse_event(raw))
    assert (result.outcome, result.reason) == (
        "invalid",
        "timestamp: more than 10 minutes in the future",
    )


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"order_id": "someone@example.com"}, sha("someone@example.com")),
        ({"order_id": " Someone@Example.com "}, sha("Someone@Example.com")),
        ({"orderId": "+1 (415) 555-0199"}, sha("+1 (415) 555-0199")),
        ({"conversion_id": "+14155550199"}, sha("+14155550199")),
        ({"order_id": "100045678"}, "100045678"),
        ({"order_id": "o-1"}, "o-1"),
        # *containing* one
        ({"order_id": "ORDER:leak1@example.com"}, sha("ORDER:leak1@example.com")),
        ({"order_id": "ord +1 415 555 0142"}, sha("ord +1 415 555 0142")),
        ({"conversion_id": "ord-415-555-0142"}, sha("ord-415-555-0142")),
        ({"order_id": "2024-11-30-000123"}, "2024-11-30-000123"),
        (
            {"order_id": "123e4567-e89b-12d3-a456-426614174000"},
            "123e4567-e89b-12d3-a456-426614174000",
        ),
    ],
)
def test_an_order_id_that_is_an_email_or_phone_is_sent_as_its_sha256(
    props: dict[str, Any], expected: str
) -> None:
    assert conversion(props)["conversion_id"] == expected


def test_free_text_is_sent_with_emails_and_phones_redacted() -> None:
    result = conversion(
        {
            "description": "Gift for jane@mail.example, call +44 7911 123456",
            "products": [
                {
                    "product_id": "jane@mail.example",
                    "name": "Engraved jane@mail.example",
                    "category": "call 415-555-0199",
                    "price": 1,
                }
            ],
        }
    )
    assert result["description"] == "Gift for [email], call [phone]"
    assert result["contents"] == [
        {
            "content_id": sha("jane@mail.example"),
            "content_name": "Engraved [email]",
            "content_type": "call [phone]",
            "content_price": 1.0,
        }
    ]


def test_ids_and_user_agents_containing_personal_data() -> None:
    result = conversion(
        {
            "ip_address": "203.0.113.9",
            "user_agent": "MyApp/2.3 (jane@mail.example; +1 415 555 0142) Chrome/120.0.6099.109",
            "products": [
                {"product_id": "pid leak6@example.com", "product_group_id": "g 415-555-0142"},
                {"product_id": "SKU-123-ABC", "product_group_id": "g-2024-11-30"},
            ],
        },
        messageId="msg jane@mail.example",
    )
    assert result["conversion_id"] == sha("msg jane@mail.example")  # the messageId, hashed
    device = result["identifiers"][-1]
    assert device["user_agent"] == "MyApp/2.3 ([email]; [phone]) Chrome/120.0.6099.109"
    assert result["contents"] == [
        {"content_id": sha("pid leak6@example.com"), "content_group_id": sha("g 415-555-0142")},
        {"content_id": "SKU-123-ABC", "content_group_id": "g-2024-11-30"},
    ]


def test_an_unmapped_event_name_is_shown_without_personal_data() -> None:
    result = run(event="Mail jane@mail.example")
    assert result.reason == 'event "Mail [email]" is not mapped to an X event'


def test_content_price_is_a_json_number_and_value_a_string() -> None:
    result = conversion({"value": 20, "products": [{"product_id": "p", "price": 100.99}]})
    wire = orjson.dumps(result)
    assert b'"value":"20.00"' in wire
    assert b'"content_price":100.99' in wire


def test_default_currency_comes_from_the_destination() -> None:
    dest = DEST.model_copy(update={"default_currency": "JPY"})
    assert run({"value": 5}, dest=dest).conversion["price_currency"] == "JPY"  # type: ignore[index]


def test_pre_purchase_events_carry_no_value_unless_enabled() -> None:
    props = {"price": 10, "quantity": 1, "product_id": "p1"}
    plain = run(props, event="product added").conversion
    assert plain is not None
    assert "value" not in plain
    assert "price_currency" not in plain
    assert plain["contents"] == [{"content_id": "p1", "content_price": 10.0, "num_items": 1}]
    enabled = run(
        props, dest=DEST.model_copy(update={"value_on_pre_purchase": True}), event="Product Added"
    )
    assert enabled.conversion is not None
    assert enabled.conversion["value"] == "10.00"


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"products": [{"quantity": 2}, {"quantity": 3}, {}]}, 5),
        ({"quantity": 4}, 4),
        ({"quantity": "7"}, 7),
        ({"quantity": 0}, None),
        ({"quantity": 2.5}, None),
        ({"quantity": -1}, None),
        ({"products": [{"quantity": 0}], "quantity": 3}, 3),
    ],
)
def test_number_items(props: dict[str, Any], expected: int | None) -> None:
    assert conversion(props).get("number_items") == expected


COUNT = "not a whole number above zero"


@pytest.mark.parametrize(
    ("props", "expected", "dropped"),
    [
        # An explicit count wins over the products' (a sync's number_items column 3, contents 1).
        ({"quantity": 3, "products": [{"product_id": "p1", "quantity": 1}]}, 3, ()),
        ({"quantity": "3", "products": [{"quantity": 1}, {"quantity": 1}]}, 3, ()),
        # The products fill it only when the event gives none.
        ({"products": [{"quantity": 1}, {"quantity": 2}]}, 3, ()),
        # A count that is not one is dropped and named, never replaced by the products' sum.
        ({"quantity": 0}, None, (("properties.quantity", COUNT),)),
        ({"quantity": 2.5}, None, (("properties.quantity", COUNT),)),
        ({"quantity": "three"}, None, (("properties.quantity", COUNT),)),
        ({"quantity": True}, None, (("properties.quantity", COUNT),)),
        (
            {"quantity": 0, "products": [{"quantity": 2}]},
            None,
            (("properties.quantity", COUNT),),
        ),
        # A product's bad quantity: left out of its item and named; the sum would be short.
        (
            {
                "products": [
                    {"product_id": "p1", "quantity": 2},
                    {"product_id": "p2", "quantity": 2.5},
                ]
            },
            None,
            (("properties.products[1].quantity", COUNT),),
        ),
    ],
)
def test_number_items_is_exact_or_reported(
    props: dict[str, Any], expected: int | None, dropped: tuple[tuple[str, str], ...]
) -> None:
    result = run(props)
    assert result.outcome == "conversion", result.reason
    assert result.conversion is not None
    assert result.conversion.get("number_items") == expected
    assert result.dropped == dropped
    assert result.as_line()["dropped"] == [{"field": f, "rule": r} for f, r in dropped]


def test_an_id_with_a_control_character_never_reaches_x() -> None:
    result = run({"order_id": "o-1\x00"})
    assert (result.outcome, result.reason) == (
        "invalid",
        "properties.order_id: contains a control character",
    )
    assert run(messageId="m\x001").reason == "messageId: contains a control character"
    product = {"product_id": "p\x001", "product_group_id": "g\n2", "name": "Cap"}
    items = run({"products": [product]})
    assert items.conversion is not None
    assert items.conversion["contents"] == [{"content_name": "Cap"}]
    assert items.dropped == (
        ("properties.products[0].product_id", "contains a control character"),
        ("properties.products[0].product_group_id", "contains a control character"),
    )


NOT_EMAIL = "email: not an email address (At least one user identifier must be provided)"


@pytest.mark.parametrize(
    "email",
    [
        "bad@@victim.example",
        "@@",
        "a b@@c.example",
        "a\x00@x.example",
        "ana@x.example\x00",
        "not-an-email",
    ],
)
def test_junk_email_is_dropped_and_the_reason_names_it(email: str) -> None:
    result = run({"email": email})
    assert result.outcome == "invalid"
    assert result.reason == NOT_EMAIL
    assert result.dropped == (("email", "not an email address"),)
    assert result.as_line()["dropped"] == [{"field": "email", "rule": "not an email address"}]


def test_an_invalid_phone_beside_a_valid_email_is_named() -> None:
    result = run({"phone": "call me"})
    assert result.outcome == "conversion"
    assert result.as_line()["dropped"] == [
        {"field": "phone", "rule": "not a possible phone number"}
    ]


@pytest.mark.parametrize(
    ("identifier", "props", "expected"),
    [
        ("product_id", {"products": [{"product_id": "p1", "sku": "s1"}]}, [{"content_id": "p1"}]),
        ("sku", {"products": [{"product_id": "p1", "sku": "s1"}]}, [{"content_id": "s1"}]),
        ("product_id", {"products": [{"productId": 17}]}, [{"content_id": "17"}]),
        ("product_id", {"products": [{"group_id": "g"}]}, [{"content_group_id": "g"}]),
        (
            "product_id",
            {"products": [{}, {"name": " "}, {"name": "Hat"}]},
            [{"content_name": "Hat"}],
        ),
        (
            "product_id",
            {"product_id": "p5", "name": "Cap", "category": "Hats", "price": 3, "quantity": 1},
            [
                {
                    "content_id": "p5",
                    "content_name": "Cap",
                    "content_type": "Hats",
                    "content_price": 3.0,
                    "num_items": 1,
                }
            ],
        ),
        ("product_id", {"name": "no id, no products"}, None),
        ("product_id", {"products": []}, None),
    ],
)
def test_contents(
    identifier: str, props: dict[str, Any], expected: list[dict[str, Any]] | None
) -> None:
    dest = DEST.model_copy(update={"product_identifier": identifier})
    result = run(props, dest=dest).conversion
    assert result is not None
    assert result.get("contents") == expected


@pytest.mark.parametrize(
    ("fields", "outcome", "reason"),
    [
        ({"event": "order completed"}, "conversion", None),
        ({"event": "  ORDER COMPLETED "}, "conversion", None),
        ({"event": "Refund"}, "filtered", 'event "Refund" is not mapped to an X event'),
        ({"event": "toString"}, "filtered", 'event "toString" is not mapped to an X event'),
        ({"event": "constructor"}, "filtered", 'event "constructor" is not mapped to an X event'),
        ({"type": "page"}, "filtered", "page events are not mapped (set page_event_id)"),
        ({"type": "identify"}, "filtered", "identify events are not conversions"),
        ({"type": "screen"}, "filtered", "screen events are not conversions"),
    ],
)
def test_which_events_map(fields: dict[str, Any], outcome: str, reason: str | None) -> None:
    result = run(**fields)
    assert (result.outcome, result.reason) == (outcome, reason)


def test_page_events_map_through_page_event_id() -> None:
    dest = DEST.model_copy(update={"page_event_id": "ol300"})
    result = run(dest=dest, type="page")
    assert result.conversion is not None
    assert result.conversion["event_id"] == "ol300"


def test_event_id_in_short_form_is_sent_in_the_pixel_s_form() -> None:
    # The configuration writes a bare id out in full, so both legs carry one spelling.
    assert conversion(event="Signed Up")["event_id"] == "tw-oka17-ol289"


@pytest.mark.parametrize(
    ("consent", "dest_update", "outcome", "reason"),
    [
        ({"categoryPreferences": {"Advertising": True}}, {}, "conversion", None),
        ({"categoryPreferences": {"advertising": True}}, {}, "conversion", None),
        (
            {"categoryPreferences": {"Advertising": False}},
            {},
            "filtered",
            "consent: Advertising is not granted",
        ),
        (
            {"categoryPreferences": {"Analytics": True}},
            {},
            "filtered",
            "consent: Advertising is not granted",
        ),
        (
            {"categoryPreferences": {"Advertising": "yes"}},
            {},
            "filtered",
            "consent: Advertising is not granted",
        ),
        (None, {}, "conversion", None),
        (
            None,
            {"missing_consent": "deny"},
            "filtered",
            "consent: the event carries no consent and missing_consent is deny",
        ),
        (
            {"categoryPreferences": {"Advertising": False}},
            {"consent_category": ""},
            "conversion",
            None,
        ),
        (
            {"categoryPreferences": {"Marketing": True}},
            {"consent_category": "Marketing"},
            "conversion",
            None,
        ),
    ],
)
def test_consent(
    consent: dict[str, Any] | None, dest_update: dict[str, Any], outcome: str, reason: str | None
) -> None:
    context = {"consent": consent} if consent is not None else {}
    result = run(dest=DEST.model_copy(update=dest_update), context=context)
    assert (result.outcome, result.reason) == (outcome, reason)


def test_suppressed_users_and_hashes_are_filtered() -> None:
    by_user = ConversionMapper(DEST, suppressed_user_ids=["u-1"])
    by_hash = ConversionMapper(DEST, suppressed_hashes=[EMAIL_HASH.upper()])
    event = parse_event(
        {
            "type": "track",
            "event": "Order Completed",
            "userId": "u-1",
            "timestamp": "2024-05-01T12:00:00Z",
            "properties": {"email": "test-email@test.com"},
        }
    )
    assert by_user.map(event).reason == "suppressed"
    assert by_hash.map(event).reason == "suppressed"
    assert ConversionMapper(DEST, suppressed_user_ids=["u-2"]).map(event).outcome == "conversion"


@pytest.mark.parametrize(
    ("props", "context", "outcome", "identifiers"),
    [
        ({"email": None}, {"ip": "1.2.3.4"}, "invalid", None),
        ({"email": None}, {"userAgent": "UA"}, "invalid", None),
        (
            {"email": None},
            {"ip": "1.2.3.4", "userAgent": "UA"},
            "conversion",
            [{"ip_address": "1.2.3.4", "user_agent": "UA"}],
        ),
        ({"email": "not-an-email"}, {}, "invalid", None),
        (
            {"email": None, "twclid": "23opevjt88psuo13lu8d020qkn"},
            {},
            "conversion",
            [{"twclid": "23opevjt88psuo13lu8d020qkn"}],
        ),
        (
            {"email": None, "phone": "(123) 456-7890"},
            {},
            "conversion",
            [{"hashed_phone_number": PHONE_HASH}],
        ),
        ({"email": EMAIL_HASH.upper()}, {}, "conversion", [{"hashed_email": EMAIL_HASH}]),
        (
            {},
            {"ip": "1.2.3.4"},
            "conversion",
            [{"hashed_email": EMAIL_HASH}, {"ip_address": "1.2.3.4"}],
        ),
    ],
)
def test_identifier_rule(
    props: dict[str, Any],
    context: dict[str, Any],
    outcome: str,
    identifiers: list[dict[str, str]] | None,
) -> None:
    result = run(props, context=context)
    assert result.outcome == outcome
    if outcome == "invalid":
        assert result.reason is not None
        assert "At least one user identifier must be provided" in result.reason
    else:
        assert result.conversion is not None
        assert result.conversion["identifiers"] == identifiers


def test_destination_identifier_paths_are_read_first() -> None:
    dest = ConversionDestination.model_validate(
        {**DEST.model_dump(), "identifiers": {"email": ["properties.customer.mail"]}}
    )
    result = run({"customer": {"mail": "test-email@test.com"}, "email": "other@x.com"}, dest=dest)
    assert result.conversion is not None
    assert result.conversion["identifiers"] == [{"hashed_email": EMAIL_HASH}]


emails = st.from_regex(r"[a-z0-9._%+-]{1,20}@[a-z0-9-]{1,12}\.[a-z]{2,6}", fullmatch=True)
phones = st.integers(min_value=2_012_000_000, max_value=9_899_999_999).map(lambda n: f"+1{n}")


@settings(max_examples=200, deadline=None)
@given(email=emails, phone=phones, upper=st.booleans())
@pytest.mark.slow
def test_no_output_contains_the_email_or_phone_in_the_clear(
    email: str, phone: str, upper: bool
) -> None:
    raw_email = email.upper() if upper else email
    result = run({"email": raw_email, "phone": phone})
    dumped = orjson.dumps(result.as_line()).decode() + repr(result)
    for secret in (email, raw_email, phone, phone.lstrip("+")):
        assert secret not in dumped


@pytest.mark.parametrize(
    ("props", "dropped"),
    [
        ({"twclid": "someone@example.com"}, (("twclid", "not an X click id"),)),
        ({"twclid": "+1 415 555 0199"}, (("twclid", "not an X click id"),)),
        ({"twclid": "23opevjt88psuo13lu8d020qkn"}, ()),
        (
            {"twclid": "a b", "phone": "call me"},
            (("twclid", "not an X click id"), ("phone", "not a possible phone number")),
        ),
    ],
)
def test_dropped_identifiers_are_counted_with_the_rule(
    props: dict[str, Any], dropped: tuple[tuple[str, str], ...]
) -> None:
    result = run(props)
    assert result.outcome == "conversion"  # the email still carries it
    assert result.dropped == dropped
    assert result.conversion is not None
    assert all(
        "twclid" not in i or i["twclid"] == props["twclid"]
        for i in result.conversion["identifiers"]
    )
