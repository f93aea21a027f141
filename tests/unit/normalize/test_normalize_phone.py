"""Phone numbers: E.164 with `+`, default region, possible numbers, cache (docs/reference/mapping.md §2.2)."""

from __future__ import annotations

from typing import Any

import pytest

from xconduit.errors import ConfigError
from xconduit.normalize import check_region, hash_phone, normalize_phone, sha256_hex
from xconduit.normalize.phone import cache_info

PHONE_DIGEST = "1fa6b8d986d9b9cd01bf36951815158bbde9f520c0567c835dfe34783d0a4231"


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+11234567890", "US", "+11234567890"),
        ("+1 (123) 456-7890", "GB", "+11234567890"),  # a `+` number ignores the region
        ("(415) 555-0100", "US", "+14155550100"),
        ("415.555.0100", "US", "+14155550100"),
        ("1-415-555-0100", "US", "+14155550100"),
        ("tel:+1-415-555-0100", "US", "+14155550100"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0)20 7946 0958", "US", "+442079460958"),
        ("030 1234567", "DE", "+49301234567"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("+39 06 1234 5678", "US", "+390612345678"),  # Italian leading zero is kept
        ("1234567890", "US", "+11234567890"),  # possible, not valid: still accepted
        ("(415) 555-0100", "us", "+14155550100"),  # region in lower case
        ("555-0100", "US", None),  # possible only locally, area code missing
        ("12", "US", None),
        ("+1 415 555 0100 555 555", "US", None),  # too long
        ("not a phone", "US", None),
        ("+", "US", None),
        ("", "US", None),
        ("   ", "US", None),
        ("(415) 555-0100", "ZZ", None),  # unknown region: only `+` numbers can be read
        ("x" * 300, "US", None),
        ("+20 0000000000", "US", None),  # would read back as another number: not a fixed point
        ("+44 (0)20 7946 0958", "GB", "+442079460958"),
    ],
)
def test_normalize_phone(raw: str, region: str, expected: str | None) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        (14155550100, "US", "+14155550100"),
        (4155550100, "US", "+14155550100"),
        (447911123456, "US", "+447911123456"),  # impossible in US: read as international
        (2079460958, "GB", "+442079460958"),  # a JSON number lost the trunk 0
        (4155550100.0, "US", "+14155550100"),
        (12, "US", None),
        (-4155550100, "US", None),
        (4155550100.5, "US", None),
        (True, "US", None),
        (None, "US", None),
        ({"phone": "+14155550100"}, "US", None),
        (["+14155550100"], "US", None),
    ],
)
def test_phone_given_as_json_value(raw: Any, region: str, expected: str | None) -> None:
    assert normalize_phone(raw, region) == expected


def test_hash_phone_matches_x_vector_and_keeps_the_plus() -> None:
    digest = hash_phone("+1 123 456 7890")
    assert digest == PHONE_DIGEST
    # The peer bug: hashing the digits without `+` gives a digest X cannot match.
    assert digest != sha256_hex("11234567890")
    assert digest != sha256_hex("1234567890")


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [("(415) 555-0100", "US", "+14155550100"), ("020 7946 0958", "GB", "+442079460958")],
)
def test_hash_phone_hashes_the_e164_string(raw: str, region: str, e164: str) -> None:
    assert hash_phone(raw, region) == sha256_hex(e164)


def test_invalid_phone_hashes_to_none() -> None:
    assert hash_phone("call me maybe") is None
    assert hash_phone(None) is None


def test_repeated_numbers_are_served_from_the_cache() -> None:
    normalize_phone("+1 212 555 0199", "US")
    hits_before, _, size_before = cache_info()
    for _ in range(3):
        assert normalize_phone("+1 212 555 0199", "US") == "+12125550199"
    hits_after, _, size_after = cache_info()
    assert hits_after - hits_before == 3
    assert size_after == size_before


def test_cache_is_bounded() -> None:
    from xconduit.normalize.phone import CACHE_SIZE, e164

    assert e164.cache_info().maxsize == CACHE_SIZE


@pytest.mark.parametrize(("region", "expected"), [("US", "US"), (" gb ", "GB"), ("de", "DE")])
def test_check_region_accepts_known_regions(region: str, expected: str) -> None:
    assert check_region(region) == expected


@pytest.mark.parametrize("region", ["ZZ", "USA", "", "1"])
def test_check_region_rejects_unknown_regions(region: str) -> None:
    with pytest.raises(ConfigError, match="phone region"):
        check_region(region)


@pytest.mark.parametrize(
    ("raw", "region"),
    [("011 44 20 7946 0958", "US"), ("0044 20 7946 0958", "GB"), ("0044 20 7946 0958", "DE")],
)
def test_international_dialling_prefix_of_the_region(raw: str, region: str) -> None:
    assert normalize_phone(raw, region) == "+442079460958"
