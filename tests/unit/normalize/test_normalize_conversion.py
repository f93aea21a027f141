"""Conversion identifiers from events: sources (§2.1), the combination rule and shape (§2.3)."""

from __future__ import annotations

from typing import Any

import pytest

from xconduit.errors import InvalidEvent
from xconduit.events import Event, parse_event
from xconduit.normalize import (
    MISSING_IDENTIFIER,
    ConversionIdentifiers,
    IdentifierPaths,
    conversion_identifiers,
    sha256_hex,
)

EMAIL_DIGEST = "e586883b2b4faf78d48300a79e0e15138d664cdf796ffb86e533170a9893eda8"
PHONE_DIGEST = "1fa6b8d986d9b9cd01bf36951815158bbde9f520c0567c835dfe34783d0a4231"
UA = "Mozilla/5.0 (iPhone)"


def event(**fields: Any) -> Event:
    return parse_event({"type": "track", "event": "Order Completed", "userId": "u1", **fields})


# -- §2.1 sources, first non-empty wins ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"properties": {"email": "test-email@test.com"}}, EMAIL_DIGEST),
        ({"context": {"traits": {"email": "test-email@test.com"}}}, EMAIL_DIGEST),
        ({"traits": {"email": "test-email@test.com"}}, EMAIL_DIGEST),
        (
            {
                "properties": {"email": "test-email@test.com"},
                "context": {"traits": {"email": "other@test.com"}},
                "traits": {"email": "third@test.com"},
            },
            EMAIL_DIGEST,
        ),
        (
            {
                "context": {"traits": {"email": "test-email@test.com"}},
                "traits": {"email": "third@test.com"},
            },
            EMAIL_DIGEST,
        ),
        # Empty values do not win: the next source is used.
        (
            {"properties": {"email": "  "}, "traits": {"email": "test-email@test.com"}},
            EMAIL_DIGEST,
        ),
        (
            {"properties": {"email": None}, "traits": {"email": "test-email@test.com"}},
            EMAIL_DIGEST,
        ),
        (
            {"context": {"traits": "not an object"}, "traits": {"email": "a@b.co"}},
            sha256_hex("a@b.co"),
        ),
        ({}, None),
    ],
)
def test_email_sources_in_order(fields: dict[str, Any], expected: str | None) -> None:
    assert conversion_identifiers(event(**fields)).hashed_email == expected


@pytest.mark.parametrize(
    ("fields", "region", "expected"),
    [
        ({"properties": {"phone": "+1 123 456 7890"}}, "US", PHONE_DIGEST),
        ({"context": {"traits": {"phone": "(123) 456-7890"}}}, "US", PHONE_DIGEST),
        ({"traits": {"phone": "123-456-7890"}}, "US", PHONE_DIGEST),
        ({"traits": {"phone": 11234567890}}, "US", PHONE_DIGEST),
        ({"traits": {"phone": "020 7946 0958"}}, "GB", sha256_hex("+442079460958")),
        (
            {"properties": {"phone": "+11234567890"}, "traits": {"phone": "+442079460958"}},
            "US",
            PHONE_DIGEST,
        ),
    ],
)
def test_phone_sources_in_order(fields: dict[str, Any], region: str, expected: str) -> None:
    assert conversion_identifiers(event(**fields), region=region).hashed_phone_number == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"properties": {"twclid": "p-click"}, "context": {"twclid": "c-click"}}, "p-click"),
        ({"context": {"twclid": " c-click "}}, "c-click"),
        ({"context": {"referrer": {"type": "twitter", "id": "r-click"}}}, "r-click"),
        ({"context": {"referrer": {"type": "X", "id": "r-click"}}}, "r-click"),
        ({"context": {"referrer": {"type": "google", "id": "gclid"}}}, None),
        ({"context": {"referrer": {"id": "no-type"}}}, None),
        (
            {"context": {"page": {"url": "https://shop.example/p?a=1&twclid=u-click#top"}}},
            "u-click",
        ),
        ({"context": {"page": {"url": "https://shop.example/p?twclid=a%2Db"}}}, "a-b"),
        ({"context": {"page": {"url": "/landing?twclid=rel-click"}}}, "rel-click"),
        ({"context": {"page": {"url": "https://shop.example/#/route?twclid=spa"}}}, "spa"),
        ({"context": {"page": {"url": "https://shop.example/twclid/x"}}}, None),
        ({"context": {"page": {"url": "https://shop.example/?xtwclid=no"}}}, None),
        ({"context": {"page": {"url": "https://shop.example/?twclid="}}}, None),
        ({"context": {"page": {"search": "?utm_source=x&twclid=s-click"}}}, "s-click"),
        (
            {"context": {"page": {"url": "https://a.example/", "search": "?twclid=s-click"}}},
            "s-click",
        ),
        (
            {"context": {"cookies": {"_twclid": '{"twclid":"k-click","twclid_ts":1714560000}'}}},
            "k-click",
        ),
        (
            {"context": {"cookies": {"_twclid": "%7B%22twclid%22%3A%22k-click%22%7D"}}},
            "k-click",
        ),
        ({"context": {"cookies": {"_twclid": "bare-click"}}}, "bare-click"),
        ({"context": {"cookies": {"_twclid": {"twclid": "obj-click"}}}}, "obj-click"),
        ({"context": {"cookies": {"_twclid": "{not json"}}}, None),
        # Order: direct fields, then referrer, then URL, then cookie.
        (
            {
                "context": {
                    "twclid": "direct",
                    "referrer": {"type": "twitter", "id": "ref"},
                    "page": {"url": "https://a.example/?twclid=url"},
                    "cookies": {"_twclid": "cookie"},
                }
            },
            "direct",
        ),
        (
            {
                "context": {
                    "referrer": {"type": "twitter", "id": "ref"},
                    "page": {"url": "https://a.example/?twclid=url"},
                    "cookies": {"_twclid": "cookie"},
                }
            },
            "ref",
        ),
        (
            {
                "context": {
                    "page": {"url": "https://a.example/?twclid=url"},
                    "cookies": {"_twclid": "cookie"},
                }
            },
            "url",
        ),
    ],
)
def test_twclid_sources_in_order(fields: dict[str, Any], expected: str | None) -> None:
    assert conversion_identifiers(event(**fields)).twclid == expected


@pytest.mark.parametrize(
    ("etype", "properties", "expected"),
    [
        (
            "page",
            {"url": "https://shop.example/landing?twclid=23opevjt88psuo13lu8d020qkn"},
            "23opevjt88psuo13lu8d020qkn",
        ),
        ("page", {"search": "?utm_source=x&twclid=s-click"}, "s-click"),
        ("page", {"url": "https://shop.example/landing"}, None),
        # a track event's `properties.url` is the shop's business, not a landing page
        ("track", {"url": "https://shop.example/landing?twclid=t-click"}, None),
    ],
)
def test_page_events_read_the_click_id_from_their_properties(
    etype: str, properties: dict[str, Any], expected: str | None
) -> None:
    page = parse_event(
        {"type": etype, "event": "Order Completed", "userId": "u1", "properties": properties}
    )
    assert conversion_identifiers(page).twclid == expected


@pytest.mark.parametrize(
    "fields",
    [
        {"properties": {"twclid": "someone@example.com"}},
        {"properties": {"twclid": "+1 (415) 555-0199"}},
        {"properties": {"twclid": "4155550199"}},
        {"context": {"twclid": "415-555-0199"}},
        {"context": {"twclid": "two words"}},
        {"context": {"twclid": "x" * 129}},
        {"context": {"referrer": {"type": "twitter", "id": "someone@example.com"}}},
        {"context": {"page": {"url": "https://a.example/?twclid=someone%40example.com"}}},
        {"context": {"cookies": {"_twclid": '{"twclid":"+14155550199"}'}}},
    ],
)
def test_a_click_id_that_is_not_x_s_is_dropped_and_counted(fields: dict[str, Any]) -> None:
    ids = conversion_identifiers(event(**fields))
    assert ids.twclid is None
    assert ids.dropped == ("twclid",)


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        (
            {"referrer": {"type": "twitter", "id": " "}, "page": {"url": "/?twclid=u-click"}},
            "u-click",
        ),
        ({"page": {"url": "/?twclid=%20"}, "cookies": {"_twclid": "k-click"}}, "k-click"),
        ({"cookies": {"_twclid": '{"twclid": " "}'}}, None),
    ],
)
def test_a_blank_click_id_is_absent_not_dropped(
    context: dict[str, Any], expected: str | None
) -> None:
    ids = conversion_identifiers(event(context=context))
    assert (ids.twclid, ids.dropped) == (expected, ())


def test_a_refused_click_id_is_not_replaced_by_a_later_source() -> None:
    fields = {"context": {"twclid": "a@b.co", "page": {"url": "/?twclid=later-click"}}}
    assert conversion_identifiers(event(**fields)).twclid is None


@pytest.mark.parametrize(
    ("fields", "client_ip", "expected"),
    [
        (
            {"properties": {"ip_address": "198.51.100.1"}, "context": {"ip": "203.0.113.9"}},
            None,
            "198.51.100.1",
        ),
        ({"context": {"ip": " 203.0.113.9 "}}, None, "203.0.113.9"),
        ({"context": {"ip": "2001:db8::7"}}, None, "2001:db8::7"),
        ({}, "192.0.2.44", "192.0.2.44"),
        ({"context": {"ip": "203.0.113.9"}}, "192.0.2.44", "203.0.113.9"),
        ({}, None, None),
    ],
)
def test_ip_sources_in_order(
    fields: dict[str, Any], client_ip: str | None, expected: str | None
) -> None:
    assert conversion_identifiers(event(**fields), client_ip=client_ip).ip_address == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"properties": {"user_agent": "prop-ua"}, "context": {"userAgent": "ctx-ua"}}, "prop-ua"),
        ({"context": {"userAgent": UA}}, UA),
        ({}, None),
    ],
)
def test_user_agent_sources_in_order(fields: dict[str, Any], expected: str | None) -> None:
    assert conversion_identifiers(event(**fields)).user_agent == expected


# -- invalid values are dropped and counted --------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "dropped"),
    [
        ({"properties": {"email": "not-an-email"}}, ("email",)),
        ({"properties": {"phone": "call me"}}, ("phone",)),
        ({"context": {"ip": "999.1.1.1"}}, ("ip_address",)),
        ({"properties": {"twclid": {"id": "x"}}}, ("twclid",)),
        ({"properties": {"user_agent": 12}}, ("user_agent",)),
        ({"properties": {"email": ["a@b.co"]}}, ("email",)),
        ({"properties": {"email": True}}, ("email",)),
        (
            {"properties": {"email": "nope", "phone": "nope"}, "context": {"ip": "nope"}},
            ("email", "phone", "ip_address"),
        ),
        ({"properties": {"email": "a@b.co", "phone": "+14155550100"}}, ()),
    ],
)
def test_invalid_values_are_dropped_and_named(
    fields: dict[str, Any], dropped: tuple[str, ...]
) -> None:
    ids = conversion_identifiers(event(**fields))
    assert ids.dropped == dropped
    for name in dropped:
        attr = {"email": "hashed_email", "phone": "hashed_phone_number"}.get(name, name)
        assert getattr(ids, attr) is None


def test_first_non_empty_source_wins_even_when_invalid() -> None:
    ids = conversion_identifiers(
        event(properties={"email": "broken"}, traits={"email": "test-email@test.com"})
    )
    assert ids.hashed_email is None
    assert ids.dropped == ("email",)


# -- §2.3 which identifiers make a valid conversion -----------------------------------------------


@pytest.mark.parametrize(
    ("ids", "sufficient"),
    [
        (ConversionIdentifiers(twclid="c"), True),
        (ConversionIdentifiers(hashed_email=EMAIL_DIGEST), True),
        (ConversionIdentifiers(hashed_phone_number=PHONE_DIGEST), True),
        (ConversionIdentifiers(ip_address="1.2.3.4", user_agent=UA), True),
        (ConversionIdentifiers(twclid="c", ip_address="1.2.3.4"), True),
        (ConversionIdentifiers(hashed_email=EMAIL_DIGEST, user_agent=UA), True),
        (ConversionIdentifiers(ip_address="1.2.3.4"), False),  # peer bug: IP alone accepted
        (ConversionIdentifiers(user_agent=UA), False),
        (ConversionIdentifiers(dropped=("email",)), False),
        (ConversionIdentifiers(), False),
    ],
)
def test_is_sufficient(ids: ConversionIdentifiers, sufficient: bool) -> None:
    assert ids.is_sufficient() is sufficient


@pytest.mark.parametrize(
    "fields",
    [
        {"context": {"ip": "203.0.113.9"}},
        {"context": {"userAgent": UA}},
        {"properties": {"email": "broken"}, "context": {"ip": "203.0.113.9"}},
        {"context": {"ip": "not-an-ip", "userAgent": UA}},
    ],
)
def test_insufficient_events_are_rejected_with_xs_reason(fields: dict[str, Any]) -> None:
    ids = conversion_identifiers(event(**fields))
    assert not ids.is_sufficient()
    with pytest.raises(InvalidEvent, match=f"^{MISSING_IDENTIFIER}$") as info:
        ids.payload()
    assert info.value.field == "identifiers"


@pytest.mark.parametrize(
    ("ids", "payload"),
    [
        (ConversionIdentifiers(twclid="c"), [{"twclid": "c"}]),
        (
            ConversionIdentifiers(
                twclid="c",
                hashed_email=EMAIL_DIGEST,
                hashed_phone_number=PHONE_DIGEST,
                ip_address="1.2.3.4",
                user_agent=UA,
            ),
            [
                {"twclid": "c"},
                {"hashed_email": EMAIL_DIGEST},
                {"hashed_phone_number": PHONE_DIGEST},
                {"ip_address": "1.2.3.4", "user_agent": UA},
            ],
        ),
        (
            ConversionIdentifiers(hashed_phone_number=PHONE_DIGEST, hashed_email=EMAIL_DIGEST),
            [{"hashed_email": EMAIL_DIGEST}, {"hashed_phone_number": PHONE_DIGEST}],
        ),
        (
            ConversionIdentifiers(ip_address="1.2.3.4", user_agent=UA),
            [{"ip_address": "1.2.3.4", "user_agent": UA}],
        ),
        (
            ConversionIdentifiers(hashed_email=EMAIL_DIGEST, ip_address="1.2.3.4"),
            [{"hashed_email": EMAIL_DIGEST}, {"ip_address": "1.2.3.4"}],
        ),
        (
            ConversionIdentifiers(twclid="c", user_agent=UA),
            [{"twclid": "c"}, {"user_agent": UA}],
        ),
    ],
)
def test_payload_shape_and_order(ids: ConversionIdentifiers, payload: list[dict[str, str]]) -> None:
    assert ids.payload() == payload


def test_full_event_to_payload() -> None:
    ids = conversion_identifiers(
        event(
            properties={"email": " Test-Email@Test.com "},
            traits={"phone": "(123) 456-7890"},
            context={
                "ip": "203.0.113.9",
                "userAgent": UA,
                "page": {"url": "https://shop.example/?twclid=23opevjt88psuo13lu8d020qkn"},
            },
        )
    )
    assert ids.payload() == [
        {"twclid": "23opevjt88psuo13lu8d020qkn"},
        {"hashed_email": EMAIL_DIGEST},
        {"hashed_phone_number": PHONE_DIGEST},
        {"ip_address": "203.0.113.9", "user_agent": UA},
    ]
    assert ids.dropped == ()


def test_twclid_is_never_hashed_in_the_payload() -> None:
    ids = conversion_identifiers(event(properties={"twclid": "23opevjt88psuo13lu8d020qkn"}))
    assert ids.payload() == [{"twclid": "23opevjt88psuo13lu8d020qkn"}]


# -- configurable paths ------------------------------------------------------------------------


def test_custom_paths_replace_the_defaults() -> None:
    paths = IdentifierPaths(email=("properties.customer.email_address",), twclid_urls=())
    ids = conversion_identifiers(
        event(
            properties={"customer": {"email_address": "test-email@test.com"}},
            traits={"email": "ignored@test.com"},
            context={"page": {"url": "https://a.example/?twclid=ignored"}},
        ),
        paths=paths,
    )
    assert ids.hashed_email == EMAIL_DIGEST
    assert ids.twclid is None


def test_referrer_source_can_be_turned_off() -> None:
    fields = {"context": {"referrer": {"type": "twitter", "id": "ref"}}}
    assert conversion_identifiers(event(**fields)).twclid == "ref"
    paths = IdentifierPaths(twclid_from_referrer=False)
    assert conversion_identifiers(event(**fields), paths=paths).twclid is None
