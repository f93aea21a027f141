"""One function per identifier: raw value in, X's wire value out, or None (pure).

Rules: docs/reference/mapping.md §2.2. `normalize_*` give the clear normalised value (for `hash_*`
functions and by tests); `hash_*` return what X receives: SHA-256 lowercase hex, or the
lowercased input when it already is a digest. `clean_*` are for the identifiers X takes in the
clear (twclid, IP address, user agent, partner user id).

Inputs come from JSON, so any type may arrive. Strings are the normal case; whole numbers are
accepted where a number makes sense (phone, twitter id, twclid, partner user id); booleans,
objects and arrays are never identifiers. No function here raises on bad input, and none puts
the input in an error or a repr: invalid means None.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Any

from xconduit.normalize.hashing import prehashed, sha256_hex
from xconduit.normalize.phone import e164, e164_from_digits
from xconduit.normalize.redact import is_click_id, private_id, redact_user_agent

# Canonical dotted-quad IPv4 (no leading zeros): most addresses, accepted without `ipaddress`,
# whose parse costs ~3 µs.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


_MAX_PHONE_TEXT = 64


def _text(raw: Any) -> str | None:
    """Trimmed string, or None for non-strings and empty strings."""
    if type(raw) is str:
        text = raw.strip()
        return text or None
    return None


def _text_or_int(raw: Any) -> str | None:
    """Like `_text`, also taking whole JSON numbers (never bools)."""
    if type(raw) is str:
        text = raw.strip()
        return text or None
    if type(raw) is int and raw >= 0:
        return str(raw)
    if type(raw) is float and raw.is_integer() and 0 <= raw < 2**63:
        return str(int(raw))
    return None


# -- email ------------------------------------------------------------------------------------


def normalize_email(raw: Any) -> str | None:
    """Trim and lowercase; None without an `@`."""
    text = _text(raw)
    if text is None or "@" not in text:
        return None
    return text.lower()


def hash_email(raw: Any) -> str | None:
    """`hashed_email` / audience `email`: SHA-256 of the normalised address."""
    # Written out rather than built on normalize_email: this runs for nearly every event.
    if type(raw) is not str:
        return None
    text = raw.strip()
    if len(text) == 64:
        digest = prehashed(text)
        if digest is not None:
            return digest
    if "@" not in text:
        return None
    return hashlib.sha256(text.lower().encode()).hexdigest()


# -- phone ------------------------------------------------------------------------------------


def normalize_phone(raw: Any, region: str = "US") -> str | None:
    """E.164 with the leading `+`; numbers without `+` are read in `region`."""
    if type(raw) is str:
        text = raw.strip()
        # Longer text is no phone number; refusing it also keeps junk out of the cache.
        return e164(text, region) if text and len(text) <= _MAX_PHONE_TEXT else None
    digits = _text_or_int(raw)
    return None if digits is None else e164_from_digits(digits, region)


def hash_phone(raw: Any, region: str = "US") -> str | None:
    """`hashed_phone_number` / audience `phone_number`: SHA-256 of E.164, `+` included."""
    if type(raw) is str:
        digest = prehashed(raw.strip())
        if digest is not None:
            return digest
    number = normalize_phone(raw, region)
    return None if number is None else sha256_hex(number)


# -- sent in the clear ------------------------------------------------------------------------


def clean_twclid(raw: Any) -> str | None:
    """Trimmed click id. Never hashed: X matches it as received from the landing URL.

    None when it does not look like X's (`redact.is_click_id`): an email address or a phone
    number put there by mistake must not reach X in the clear."""
    text = _text_or_int(raw)
    return text if text is not None and is_click_id(text) else None


def clean_ip(raw: Any) -> str | None:
    """Trimmed IPv4 or IPv6 address, sent as written once it parses; never hashed."""
    text = _text(raw)
    if text is None:
        return None
    if _IPV4.fullmatch(text) is not None:
        return text
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return None
    return text


def clean_user_agent(raw: Any) -> str | None:
    """Trimmed user agent; never hashed, but an email address or a phone number in it becomes
    `[email]` / `[phone]` (`redact.redact_user_agent`)."""
    text = _text(raw)
    return None if text is None else redact_user_agent(text)


def clean_partner_user_id(raw: Any) -> str | None:
    """Trimmed partner user id: the one audience key X takes unhashed; its SHA-256 hex when it
    contains an email address or a phone number (`redact.private_id`)."""
    text = _text_or_int(raw)
    return None if text is None else private_id(text)


# -- audience-only keys -----------------------------------------------------------------------


def normalize_handle(raw: Any) -> str | None:
    """Trim, strip one leading `@`, lowercase (`@AdsAPI` → `adsapi`).

    None when nothing is left, or when a second `@` follows (`@@x` is not a handle).
    """
    text = _text(raw)
    if text is None:
        return None
    if text[0] == "@":
        text = text[1:].strip()
        if text.startswith("@"):
            return None
    return text.lower() or None


def hash_handle(raw: Any) -> str | None:
    """Audience `handle`: SHA-256 of the normalised handle."""
    text = _text(raw)
    digest = None if text is None else prehashed(text)
    if digest is not None:
        return digest
    handle = normalize_handle(text)
    return None if handle is None else sha256_hex(handle)


def normalize_twitter_id(raw: Any) -> str | None:
    """Trimmed string of ASCII digits (a JSON integer is fine); None otherwise."""
    text = _text_or_int(raw)
    if text is None or not (text.isascii() and text.isdigit()):
        return None
    return text


def hash_twitter_id(raw: Any) -> str | None:
    """Audience `twitter_id`: SHA-256 of the digits."""
    text = _text(raw)
    digest = None if text is None else prehashed(text)
    if digest is not None:
        return digest
    user_id = normalize_twitter_id(raw)
    return None if user_id is None else sha256_hex(user_id)


def normalize_device_id(raw: Any) -> str | None:
    """Trim and lowercase, dashes kept (IDFA / AdID as on the device)."""
    text = _text(raw)
    return None if text is None else text.lower()


def hash_device_id(raw: Any) -> str | None:
    """Audience `device_id`: SHA-256 of the normalised id."""
    text = _text(raw)
    if text is None:
        return None
    digest = prehashed(text)
    return digest if digest is not None else sha256_hex(text.lower())
