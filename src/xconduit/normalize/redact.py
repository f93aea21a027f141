"""Personal data in free text and in ids that are sent in the clear (pure).

X receives some fields as written: `description`, the `contents[]` texts, `conversion_id` and
`twclid`. A shop may put an email address or a phone number in any of them (a gift message, an
order id that is the customer's email). Before such a field is stored or sent:

- free text has every email address replaced by `[email]` and every phone number by `[phone]`;
- an id that *is* an email address or a phone number becomes its SHA-256 hex (the website tag
  does the same, so the pixel and the server still share the id);
- a click id that does not look like X's is dropped.

The patterns are documented in docs/explanation/hashing.md; keep the two in step, and the tag's
copies in src/xconduit/tag/tag.js.
"""

from __future__ import annotations

import re

from xconduit.normalize.hashing import sha256_hex

EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
"""An email address inside text: local part, `@`, a domain with at least one dot."""

PHONE = re.compile(r"(?<![\w+])\+?\(?[0-9][0-9 ().\-/]{5,}[0-9](?![\w])")
"""A phone number candidate: an optional `+`, then digits, spaces, `().-/`, ending on a digit.
A candidate is a phone number when it holds 7 to 15 digits (E.164's longest is 15) and is not an
ISO date (`2024-05-01`)."""

CLICK_ID = re.compile(r"[A-Za-z0-9_.~-]{1,128}")
"""What X's click ids are made of (`23opevjt88psuo13lu8d020qkn`): URL-safe characters only."""

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SEPARATED = re.compile(r"[ ().\-/]")

EMAIL_MARK = "[email]"
PHONE_MARK = "[phone]"


_DELETE_DIGITS = str.maketrans("", "", "0123456789")
_PHONE_CHARS = re.compile(r"[0-9 ().\-/+]+")


def _digits(text: str) -> int:
    return len(text) - len(text.translate(_DELETE_DIGITS))


def _is_phone_candidate(text: str) -> bool:
    return 7 <= _digits(text) <= 15 and _ISO_DATE.fullmatch(text) is None


def _phone_mark(match: re.Match[str]) -> str:
    text = match.group(0)
    return PHONE_MARK if _is_phone_candidate(text) else text


def redact(text: str) -> str:
    """`text` with email addresses → `[email]` and phone numbers → `[phone]`."""
    if "@" in text:
        text = EMAIL.sub(EMAIL_MARK, text)
    return PHONE.sub(_phone_mark, text)


def is_email(text: str) -> bool:
    """True when the whole (trimmed) text is an email address."""
    return "@" in text and EMAIL.fullmatch(text) is not None


def is_phone(text: str) -> bool:
    """True when the whole (trimmed) text is written as a phone number: with a leading `+` or
    with separators between digit groups. A bare run of digits is an order number, not a phone."""
    if PHONE.fullmatch(text) is None or not _is_phone_candidate(text):
        return False
    return text.startswith("+") or _SEPARATED.search(text) is not None


def private_id(text: str) -> str:
    """An id sent in the clear (`conversion_id`): its SHA-256 hex when it is an email address or
    a phone number, else unchanged. `text` is already trimmed."""
    if is_email(text) or is_phone(text):
        return sha256_hex(text)
    return text


def is_click_id(text: str) -> bool:
    """True when `text` may be an X click id: URL-safe characters, and not a phone number."""
    if CLICK_ID.fullmatch(text) is None:
        return False
    if _PHONE_CHARS.fullmatch(text) is None:
        return True  # a letter, `_` or `~`: not a phone number (the usual case, decided fast)
    if text.isdigit():
        return not 7 <= len(text) <= 15
    return not is_phone(text)
