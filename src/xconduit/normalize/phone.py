"""Phone numbers to E.164 with the leading `+`, through `phonenumbers` (pure, cached).

Parsing costs about 30 µs, the most expensive step per event, and the same customers convert
again and again, so results are kept in a bounded LRU cache keyed by (text, region). The cache
lives in process memory only; nothing in it is ever written, logged or shown.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from xconduit.errors import ConfigError

CACHE_SIZE = 65_536
"""Distinct (number, region) pairs kept; about 200 bytes each, so ~13 MB when full."""

_E164 = PhoneNumberFormat.E164
_SEPARATORS = re.compile(r"[\s().\-/]")
_IS_POSSIBLE = ValidationResult.IS_POSSIBLE


def check_region(region: str) -> str:
    """The upper-case region code, or ConfigError when `phonenumbers` does not know it."""
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(
            f"default phone region {region!r} is not an ISO 3166-1 alpha-2 code phonenumbers "
            "knows (for example US, GB, DE)"
        )
    return code


@lru_cache(maxsize=CACHE_SIZE)
def e164(text: str, region: str) -> str | None:
    """E.164 (`+14155550100`) for a trimmed phone string, or None when it cannot be a number.

    Numbers without `+` are read in `region`. *Possible* numbers (right length for the country)
    are accepted, not only *valid* ones: numbering plans change faster than the library, and X
    matches on the digits anyway. Numbers that are only possible without an area code
    ("555-0100") are refused: their E.164 form would be wrong.
    """
    region = region.upper()
    result, leading_zeros = _parse(text, region)
    if result is None and not text.startswith("+"):
        result, leading_zeros = _with_country_code(text, region)
    if result is None or result == text or not leading_zeros:
        return result
    # Only a fixed point is an identifier: "+20 0000000000" gives "+20000000000", which reads
    # back as "+2000000000" (a trunk 0 stripped again). Such numbers are refused. Only numbers
    # whose national part keeps leading zeros can move, so only they pay for a second parse
    # (~9 µs): the others are the common case on the hot path.
    return result if _parse(result, region)[0] == result else None


def _with_country_code(text: str, region: str) -> tuple[str | None, bool]:
    """Read "11234567890" (region US) as "+11234567890": digits that start with the region's
    country code but lack the `+`, when the national reading was impossible."""
    digits = _SEPARATORS.sub("", text)
    code = str(phonenumbers.country_code_for_region(region))
    if digits.isdigit() and digits.startswith(code) and code != "0":
        return _parse("+" + digits, region)
    return None, False


def _parse(text: str, region: str) -> tuple[str | None, bool]:
    """(E.164 or None, whether the national number kept leading zeros)."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None, False
    if phonenumbers.is_possible_number_with_reason(number) != _IS_POSSIBLE:
        return None, False
    return phonenumbers.format_number(number, _E164), bool(number.italian_leading_zero)


def e164_from_digits(digits: str, region: str) -> str | None:
    """E.164 for a phone sent as a JSON number, which can carry neither `+` nor a leading 0.

    Read it in `region` first; when that is impossible, take the digits as international
    (`447911123456` → `+447911123456`), which is how such numbers are usually stored.
    """
    return e164(digits, region) or e164("+" + digits, region)


def cache_info() -> tuple[int, int, int]:
    """(hits, misses, current size) of the phone cache, for metrics."""
    info = e164.cache_info()
    return info.hits, info.misses, info.currsize


def dialling(region: str) -> tuple[str, str]:
    """(country calling code, national prefix) of a region: ("44", "0") for GB, ("1", "1") for
    US, ("39", "") for IT. The website tag writes E.164 with them (`phone_country_code`,
    `phone_national_prefix` of its settings)."""
    code = check_region(region)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(code)
    prefix = metadata.national_prefix if metadata is not None else None
    return str(phonenumbers.country_code_for_region(code)), prefix or ""
