"""Personal data in free text and in the ids and user agents sent in the clear (pure).

X receives some fields as written: `description`, the `contents[]` texts and ids,
`conversion_id`, the user agent, an audience's `partner_user_id` and `twclid`. A shop may put an
email address or a phone number in any of them (a gift message, an order id made from the
customer's email, `ORDER:jane@example.com`). Before such a field is stored, shown or sent:

- free text has every email address replaced by `[email]` and every phone number by `[phone]`;
- an id that *contains* an email address or a phone number written as one becomes its SHA-256
  hex (the website tag does the same, so the pixel and the server still share the id);
- a user agent has such an email address or phone number replaced by `[email]` / `[phone]`;
- a click id that does not look like X's is dropped.

Ids and user agents are full of digits (`2024-11-30-000123`, `Chrome/120.0.6099.109`, UUIDs), so
they use a stricter phone rule than free text: see `phone_in`. The patterns are documented in
docs/explanation/hashing.md; keep the two in step, and the tag's copies in
src/xconduit/tag/tag.js.
"""

from __future__ import annotations

import re
from functools import lru_cache

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


_RUN = re.compile(r"\+[0-9][0-9 ().\-/]{5,}[0-9]|[0-9]+[ ().\-/][0-9 ().\-/]{4,}[0-9]")
"""A run of digits and phone separators (space, `().-/`), 7 characters or more, from a digit to a
digit, after a `+` or with a separator: a bare number (`20100101`, a UUID's `446655440000`) never
is one. Greedy with nothing after it, so a run is found whole."""

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
"""A UUID (most message ids): decided at once, never a phone (`0123-4567-8901` may be in one)."""
_DATE_IN = re.compile(r"[0-9]{4}[-./][0-9]{2}[-./][0-9]{2}|[0-9]{2}[-./][0-9]{2}[-./][0-9]{4}")
_AREA = re.compile(r"\([0-9]{1,5}\)")
_GROUPS = re.compile(r"[0-9]+")
_LEAD = re.compile(r"\+?[0-9]+[ ().\-/]+")
_TRAIL = re.compile(r"[ ().\-/]+[0-9]+$")


def _glued(char: str) -> bool:
    """A letter, digit or `_`: a number touching it is part of a word (`ORD4155550142`)."""
    return char.isalnum() or char == "_"


def _sticks(char: str) -> bool:
    """The character before a run makes its first number part of a word, or a second `+`."""
    return char == "+" or _glued(char)


def _written_as_phone(run: str) -> bool:
    """True when a run (with the `+` or `(` just before it) holds 7 to 15 digits laid out as a
    phone number, not as an order number, a date, a version or an address."""
    groups = _GROUPS.findall(run)
    digits = sum(map(len, groups))
    if not 7 <= digits <= 15:
        return False
    if run[0] == "+":
        return True  # international: +1 415 555 0142, +14155550142
    shaped = (
        # North American: 415-555-0142, 1 415.555.0142 (the last three groups)
        (len(groups) >= 3 and (len(groups[-3]), len(groups[-2]), len(groups[-1])) == (3, 3, 4))
        # national, after a trunk 0: 07911 123456, 020 7946 0958, 06 12 34 56 78
        or (groups[0][0] == "0" and digits >= 9 and len(groups) >= 2 and min(map(len, groups)) >= 2)
        # an area code: (415) 555-0142
        or ("(" in run and _AREA.search(run) is not None)
    )
    return shaped and _DATE_IN.search(run) is None  # not 30-11-2024-000123


def phone_in(text: str, pos: int = 0) -> tuple[int, int] | None:
    """Where the first phone number written as one is in `text[pos:]` (an id, a user agent), or
    None; the span includes an opening `(` just before it.

    Stricter than free text: a run of 7 to 15 digits separated by spaces or `().-/` (or after a
    `+`), laid out as a phone number (`_written_as_phone`). A number touching a letter, a digit or
    `_` belongs to that word and is left out of the run (`m6 (415) 555-7373` → `(415) 555-7373`;
    `ORD4155550142` has none). A bare run of digits (`100045678`, `20100101`) is an order number
    or a build, never a phone.
    """
    match = _RUN.search(text, pos)  # most ids have no run: no iterator is built for them
    while match is not None:
        start, end = match.span()
        run = match.group()
        match = _RUN.search(text, end)
        if start and _sticks(text[start - 1]):
            # its first number belongs to the word before it: `m6 (415) 555-7373`
            lead = _LEAD.match(run)
            if lead is None:
                continue
            start += lead.end()
            run = run[lead.end() :]
        if end < len(text) and _glued(text[end]):
            # its last number belongs to the word after it: `415-555 0142ext`
            trail = _TRAIL.search(run)
            if trail is None:
                continue
            run = run[: trail.start()]
            end = start + len(run)
        if start and text[start - 1] == "(" and run[0] != "+":  # an area code
            start -= 1
            run = "(" + run
        if _written_as_phone(run):
            return start, end
    return None


def has_personal_data(text: str) -> bool:
    """True when `text` contains an email address or a phone number written as one."""
    if "@" in text:
        return EMAIL.search(text) is not None or phone_in(text) is not None
    if len(text) == 36 and _UUID.fullmatch(text) is not None:
        return False
    return phone_in(text) is not None


def private_id(text: str) -> str:
    """An id sent in the clear (`conversion_id`, `content_id`, `partner_user_id`, `messageId`):
    its SHA-256 hex when it contains an email address or a phone number (`has_personal_data`),
    else unchanged. `text` is already trimmed. A SHA-256 hex is kept: hashing twice is the same."""
    return sha256_hex(text) if has_personal_data(text) else text


def redact_clear(text: str) -> str:
    """Text X takes nearly as written (a user agent) with every email address → `[email]` and
    every phone number written as one (`phone_in`) → `[phone]`; version numbers are kept."""
    if "@" in text:
        text = EMAIL.sub(EMAIL_MARK, text)
    parts: list[str] = []
    pos = 0
    while (span := phone_in(text, pos)) is not None:
        parts += (text[pos : span[0]], PHONE_MARK)
        pos = span[1]
    return "".join(parts) + text[pos:] if parts else text


@lru_cache(maxsize=4096)
def redact_user_agent(text: str) -> str:
    """`redact_clear` of a user agent. A shop's visitors share a few hundred user agents, so the
    answers are kept (in process memory only, like the phone cache): ~0.1 µs instead of ~2."""
    return redact_clear(text)


def is_click_id(text: str) -> bool:
    """True when `text` may be an X click id: URL-safe characters, and not a phone number."""
    if CLICK_ID.fullmatch(text) is None:
        return False
    if _PHONE_CHARS.fullmatch(text) is None:
        return True  # a letter, `_` or `~`: not a phone number (the usual case, decided fast)
    if text.isdigit():
        return not 7 <= len(text) <= 15
    return phone_in(text) is None
