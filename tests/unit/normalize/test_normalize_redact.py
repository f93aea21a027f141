"""Free text and clear-text ids: emails and phone numbers never leave in the clear."""

from __future__ import annotations

import hashlib

import pytest

from xconduit.normalize.redact import is_click_id, private_id, redact


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("order-123", "order-123"),
        ("100045678", "100045678"),  # a bare number is an order number, not a phone
        ("someone@example.com", sha("someone@example.com")),
        ("Someone@Example.com", sha("Someone@Example.com")),  # as written: both legs agree
        ("+14155550199", sha("+14155550199")),
        ("+1 (415) 555-0199", sha("+1 (415) 555-0199")),
        ("415-555-0199", sha("415-555-0199")),
        ("2024-05-01", "2024-05-01"),
    ],
)
def test_private_id(text: str, expected: str) -> None:
    assert private_id(text) == expected


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
