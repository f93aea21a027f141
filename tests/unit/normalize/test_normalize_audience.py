"""Audience users: X's six keys, hashed except partner_user_id (docs/reference/mapping.md §2, §5)."""

from __future__ import annotations

from typing import Any

import pytest

from xconduit.errors import ConfigError
from xconduit.events import parse_event
from xconduit.normalize import (
    AUDIENCE_KEYS,
    AudienceIdentifiers,
    audience_identifiers,
    audience_user,
    audience_values,
    sha256_hex,
)

EMAIL_DIGEST = "e586883b2b4faf78d48300a79e0e15138d664cdf796ffb86e533170a9893eda8"
PHONE_DIGEST = "1fa6b8d986d9b9cd01bf36951815158bbde9f520c0567c835dfe34783d0a4231"
HANDLE_DIGEST = "49e0be2aeccfb51a8dee4c945c8a70a9ac500cf6f5cb08112575f74db9b1470d"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"email": "Test-Email@Test.com"}, {"email": [EMAIL_DIGEST]}),
        ({"phone_number": "(123) 456-7890"}, {"phone_number": [PHONE_DIGEST]}),
        ({"handle": "@AdsAPI"}, {"handle": [HANDLE_DIGEST]}),
        ({"twitter_id": 143567}, {"twitter_id": [sha256_hex("143567")]}),
        (
            {"device_id": "4B61639E-47CC-4056-A16A-C8217E029462"},
            {"device_id": [sha256_hex("4b61639e-47cc-4056-a16a-c8217e029462")]},
        ),
        ({"partner_user_id": " crm-42 "}, {"partner_user_id": ["crm-42"]}),
        (
            {"email": ["a@b.co", " A@B.CO ", "c@d.co", "broken"]},
            {"email": [sha256_hex("a@b.co"), sha256_hex("c@d.co")]},
        ),
        ({"email": EMAIL_DIGEST.upper()}, {"email": [EMAIL_DIGEST]}),
        (
            {"email": "test-email@test.com", "handle": "adsapi", "twitter_id": "x"},
            {"email": [EMAIL_DIGEST], "handle": [HANDLE_DIGEST]},
        ),
        ({"email": None, "handle": "  ", "twitter_id": []}, {}),
        ({}, {}),
    ],
)
def test_audience_identifiers(values: dict[str, Any], expected: dict[str, list[str]]) -> None:
    assert audience_identifiers(values, region="US") == expected


def test_payload_keys_follow_xs_order() -> None:
    user = audience_user(
        {"partner_user_id": "p", "handle": "h", "email": "e@x.co", "phone_number": "+14155550100"}
    )
    assert list(user.payload()) == ["email", "phone_number", "handle", "partner_user_id"]


def test_dropped_names_keys_with_only_invalid_values() -> None:
    user = audience_user({"email": "nope", "twitter_id": "12a", "handle": "ok", "device_id": ""})
    assert user.dropped == ("email", "twitter_id")
    assert not user.is_empty()


def test_user_without_usable_identifier_is_empty() -> None:
    user = audience_user({"email": "nope", "phone_number": "0"})
    assert user.is_empty()
    assert user.payload() == {}


def test_phone_uses_the_region() -> None:
    assert audience_identifiers({"phone_number": "020 7946 0958"}, region="GB") == {
        "phone_number": [sha256_hex("+442079460958")]
    }


def test_unmapped_keys_are_left_out() -> None:
    user = audience_user({"email": "a@b.co", "handle": "adsapi"}, keys=("handle",))
    assert user.payload() == {"handle": [HANDLE_DIGEST]}


@pytest.mark.parametrize("key", ["ip_address", "Email", "hashed_email"])
def test_unknown_keys_are_config_errors(key: str) -> None:
    with pytest.raises(ConfigError, match="not one of X's"):
        audience_user({key: "x"})


def test_audience_values_read_the_default_paths() -> None:
    event = parse_event(
        {
            "type": "identify",
            "userId": "crm-42",
            "traits": {
                "email": "test-email@test.com",
                "phone": "+11234567890",
                "twitter_handle": "@adsapi",
                "twitter_id": "143567",
            },
            "context": {"device": {"advertisingId": "AF3802A465767E36"}},
        }
    )
    values = audience_values(event)
    assert set(values) == set(AUDIENCE_KEYS)
    assert audience_identifiers(values, region="US") == {
        "email": [EMAIL_DIGEST],
        "phone_number": [PHONE_DIGEST],
        "handle": [HANDLE_DIGEST],
        "twitter_id": [sha256_hex("143567")],
        "device_id": [sha256_hex("af3802a465767e36")],
        "partner_user_id": ["crm-42"],
    }


def test_audience_values_only_for_requested_keys() -> None:
    event = parse_event({"type": "identify", "userId": "u", "traits": {"email": "a@b.co"}})
    assert audience_values(event, keys=("email", "handle")) == {"email": "a@b.co"}


def test_every_audience_key_is_a_field() -> None:
    fields = set(AudienceIdentifiers.__dataclass_fields__) - {"dropped"}
    assert fields == set(AUDIENCE_KEYS)
