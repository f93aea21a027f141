"""One function per identifier: raw value in, X's wire value out, or None (pure).

Rules: docs/reference/mapping.md §2.2. `normalize_*` give the clear normalised value (for `hash_*`
functions and by tests); `hash_*` return what X receives: SHA-256 lowercase hex, or the
lowercased input when it already is a digest. `clean_*` are for the identifiers X takes in the
clear (twclid, IP address, user agent, partner user id).

Inputs come from JSON, so any type may arrive. Strings are the normal case; whole numbers are
accepted where a number makes sense (phone, twitter id, twclid, partner user id); booleans,
objects and arrays are never identifiers. A control character (NUL, a newline inside the value,
C1 controls) makes any identifier invalid: no real one has them, and X would get them as sent.
No function here raises on bad input, and none puts the input in an error or a repr: invalid
means None.
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
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_control(text: str) -> bool:
    """True when `text` holds a control character (C0, DEL or C1): invalid in any identifier or
    id. `isprintable` (C code) settles the common case; only text it refuses (which may be a
    non-breaking space, not a control) is searched."""
    return not text.isprintable() and _CONTROL.search(text) is not None


def _text(raw: Any) -> str | None:
    """Trimmed string, or None for non-strings, empty strings and text with control
    characters."""
    if type(raw) is str:
        text = raw.strip()
        return text if text and not has_control(text) else None
    return None


def _text_or_int(raw: Any) -> str | None:
    """Like `_text`, also taking whole JSON numbers (never bools)."""
    if type(raw) is str:
        text = raw.strip()
        return text if text and not has_control(text) else None
    if type(raw) is int and raw >= 0:
        return str(raw)
    if type(raw) is float and raw.is_integer() and 0 <= raw < 2**63:
        return str(int(raw))
    return None


# -- email ------------------------------------------------------------------------------------


# The address forms RFC 5321 (§4.1.2, with RFC 6531's UTF-8) allows, less the rare ones no
# shop stores: quoted local parts (`"a b"@x.example`), address literals (`a@[192.0.2.1]`) and
# single-label domains (`a@localhost`). Written out rather than taken from a library: the rules
# fit in one pattern and a few string checks, cost ~1 µs on every event, and need no DNS
# (docs/explanation/hashing.md). The pattern gives the characters and the dots; the hyphens and
# the lengths are checked after it, as plain string operations are cheaper than regex rules.
_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-"
_UTF8 = "\u00a1-\U0010ffff"  # non-ASCII: RFC 6531 (its non-printable ones are refused before)
_ASCII_EMAIL = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_EMAIL = re.compile(
    rf"[{_ATEXT}{_UTF8}]+(?:\.[{_ATEXT}{_UTF8}]+)*@[A-Za-z0-9\-{_UTF8}]+(?:\.[A-Za-z0-9\-{_UTF8}]+)+"
)
_MAX_ADDRESS = 254  # RFC 5321's 256-character path, less its angle brackets
_MAX_LOCAL = 64
_MAX_LABEL = 63


def is_email_address(text: str) -> bool:
    """True when trimmed `text` is an email address (the RFC 5321 subset above): a dot-atom
    local part of at most 64 characters, one `@`, a domain of two or more labels (letters,
    digits, hyphens neither first nor last; at most 63 characters each) whose last label is not
    all digits; at most 254 characters in all. No space, no control character anywhere."""
    if len(text) > _MAX_ADDRESS:
        return False
    if text.isascii():
        if _ASCII_EMAIL.fullmatch(text) is None:  # its classes hold no space or control
            return False
    elif not text.isprintable() or " " in text or _EMAIL.fullmatch(text) is None:
        return False
    at = text.index("@")
    domain = text[at + 1 :]
    if at > _MAX_LOCAL or domain[0] == "-" or domain[-1] == "-":
        return False
    if "-." in domain or ".-" in domain or domain[domain.rindex(".") + 1 :].isdigit():
        return False
    return len(domain) <= _MAX_LABEL or all(len(part) <= _MAX_LABEL for part in domain.split("."))


def normalize_email(raw: Any) -> str | None:
    """Trim and lowercase; None unless it is an email address (`is_email_address`)."""
    text = _text(raw)
    if text is None or not is_email_address(text):
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
    if not is_email_address(text):
        return None
    return hashlib.sha256(text.lower().encode()).hexdigest()


# -- phone ------------------------------------------------------------------------------------


def normalize_phone(raw: Any, region: str = "US") -> str | None:
    """E.164 with the leading `+`; numbers without `+` are read in `region`."""
    if type(raw) is str:
        text = raw.strip()
        # Longer text is no phone number; refusing it also keeps junk out of the cache.
        # `phonenumbers` would skip a control character (a trailing NUL): refuse it here.
        if not text or len(text) > _MAX_PHONE_TEXT or has_control(text):
            return None
        return e164(text, region)
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
    """Trimmed user agent; never hashed. None when it holds a control character; an email
    address or a phone number in it becomes `[email]` / `[phone]` (`redact.redact_user_agent`)."""
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
