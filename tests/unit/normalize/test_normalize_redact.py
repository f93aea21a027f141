"""Free text and clear-text ids: emails and phone numbers never leave in the clear."""

from __future__ import annotations

import hashlib

import pytest

from xconduit.normalize.redact import (
    has_personal_data,
    is_click_id,
    private_id,
    redact,
    redact_clear,
    redact_user_agent,
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Gift wrap please", "Gift wrap please"),
        ("Send to jane.doe+gift@mail.example.co.uk", "Send to [email]"),
        ("a@b.co, c@d.io", "[email], [email]"),
        ("call +1 (415) 555-0199 after 6", "call [phone] after 6"),
        ("call 415-555-0199", "call [phone]"),
        ("call 0044 7911 123456!", "call [phone]!"),
        ("mobile 07911123456", "mobile [phone]"),
        ("Ünïcödé@exämple.de", "[email]"),
        # not phone numbers: too few digits, a date, a price, a size
        ("Order #1001, 2 items", "Order #1001, 2 items"),
        ("delivered 2024-05-01", "delivered 2024-05-01"),
        ("Total 1299.99 EUR", "Total 1299.99 EUR"),
        ("iPhone 15 Pro 256GB", "iPhone 15 Pro 256GB"),
        ("user@localhost", "user@localhost"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


LEAKING_IDS = [
    # an email address anywhere
    "someone@example.com",
    "Someone@Example.com",
    "ORDER:leak1@example.com",
    "pid leak6@example.com",
    "gift-for_jane.doe+x@mail.example.co.uk#2",
    # a phone number written as one: international, area code, North American, national 0…
    "+14155550199",
    "+1 (415) 555-0199",
    "ord +1 415 555 0142",
    "call:+33612345678",
    "(415) 555-0142",
    "x (415) 555-0142",
    "415-555-0199",
    "ord-415-555-0142",
    "1 415.555.0142",
    "order 1001 415 555 0142",
    "07911 123456",
    "0044 7911 123456",
    "020 7946 0958",
    "06 12 34 56 78",
    "gift for +44 7911 123456!",
    "m6 (415) 555-7373",  # a number glued to a word is that word's, the rest is a phone
    "ord1 415-555-0142",
    "tel(415) 555-0142",
]

ORDINARY_IDS = [
    "o-1",
    "order-123",
    "100045678",  # a bare number is an order number, not a phone
    "000000123",
    "ORD4155550142",  # digits glued to letters: a code
    "AB123-456-7890",
    "415-555-0142ext",
    "2024-05-01",
    "2024-11-30-000123",  # a date and a sequence
    "30/11/2024-0001",
    "INV-2024-000123",
    "SKU-123-ABC",
    "12 345 678",
    "203.0.113.9",
    "123e4567-e89b-12d3-a456-426614174000",
    "f81d4fae-0123-4567-8901-abcdef012345",  # a UUID whose middle reads like a phone
    "ab12cd34-ef56-4123-8123-12345678901a",
    "ajs-next-1701234567890-9f0c2",
    "user@localhost",  # no dot in the domain: not an address X could match
    "0123456789abcdef" * 4,  # a SHA-256 hex: hashing twice changes nothing
]


@pytest.mark.parametrize("text", LEAKING_IDS)
def test_an_id_containing_personal_data_becomes_its_sha256(text: str) -> None:
    assert has_personal_data(text)
    assert private_id(text) == sha(text)  # as written: the tag hashes the same text


@pytest.mark.parametrize("text", ORDINARY_IDS)
def test_an_ordinary_id_is_kept(text: str) -> None:
    assert not has_personal_data(text)
    assert private_id(text) == text


CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.109 Safari/537.36"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (CHROME, CHROME),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",) * 2,
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) Mobile/15E148",) * 2,
        ("Dalvik/2.1.0 (Linux; U; Android 13; SM-S918B Build/TP1A.220624.014)",) * 2,
        ("MyBot/1.0 (+mailto:ops.bot@shop.example)", "MyBot/1.0 (+mailto:[email])"),
        ("MyApp/2.3 (user jane@x.example; +1 415 555 0142)", "MyApp/2.3 (user [email]; [phone])"),
        (
            "Kiosk/1 (tel (415) 555-0142) Chrome/120.0.6099.109",
            "Kiosk/1 (tel [phone]) Chrome/120.0.6099.109",
        ),
    ],
)
def test_user_agent_keeps_versions_and_loses_personal_data(text: str, expected: str) -> None:
    assert redact_clear(text) == expected
    assert redact_user_agent(text) == expected


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("23opevjt88psuo13lu8d020qkn", True),
        ("c", True),
        ("tw-abc_123.x~y", True),
        ("12345678901234567890123456", True),  # long digit strings are not phone numbers
        ("a@b.co", False),
        ("+14155550199", False),
        ("4155550199", False),
        ("415.555.0199", False),
        ("with space", False),
        ("x" * 128, True),
        ("x" * 129, False),
    ],
)
def test_is_click_id(text: str, ok: bool) -> None:
    assert is_click_id(text) is ok
