from __future__ import annotations

import hashlib

import pytest

from xconduit.normalize import hash_email, hash_phone, is_sha256_hex, sha256_hex

# Vectors X publishes (docs/reference/mapping.md §2.2).
PHONE_DIGEST = "1fa6b8d986d9b9cd01bf36951815158bbde9f520c0567c835dfe34783d0a4231"
EMAIL_DIGEST = "e586883b2b4faf78d48300a79e0e15138d664cdf796ffb86e533170a9893eda8"
HANDLE_DIGEST = "49e0be2aeccfb51a8dee4c945c8a70a9ac500cf6f5cb08112575f74db9b1470d"


@pytest.mark.parametrize(
    ("text", "digest"),
    [
        ("+11234567890", PHONE_DIGEST),
        ("test-email@test.com", EMAIL_DIGEST),
        ("adsapi", HANDLE_DIGEST),
        ("twitter", "7352f353c460e74c7ae226952d04f8aa307b12329c5512ec8cb6f1a0f8f9b2cb"),
    ],
)
def test_sha256_hex_matches_x_vectors(text: str, digest: str) -> None:
    assert sha256_hex(text) == digest


def test_sha256_hex_is_lowercase_hex_of_utf8() -> None:
    digest = sha256_hex("josé@example.com")
    assert digest == hashlib.sha256("josé@example.com".encode()).hexdigest()
    assert digest == digest.lower()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (EMAIL_DIGEST, True),
        (EMAIL_DIGEST.upper(), True),
        (EMAIL_DIGEST[:32] + EMAIL_DIGEST[32:].upper(), True),
        (EMAIL_DIGEST[:63], False),
        (EMAIL_DIGEST + "0", False),
        ("g" + EMAIL_DIGEST[1:], False),
        (" " + EMAIL_DIGEST[1:], False),
        (EMAIL_DIGEST[:63] + "\n", False),
        ("", False),
    ],
)
def test_is_sha256_hex(text: str, expected: bool) -> None:
    assert is_sha256_hex(text) is expected


def test_prehashed_email_is_not_hashed_twice() -> None:
    assert hash_email(EMAIL_DIGEST) == EMAIL_DIGEST
    assert hash_email(EMAIL_DIGEST) != sha256_hex(EMAIL_DIGEST)


def test_uppercase_prehashed_value_is_lowercased() -> None:
    assert hash_email(EMAIL_DIGEST.upper()) == EMAIL_DIGEST
    assert hash_phone(f"  {PHONE_DIGEST.upper()} ") == PHONE_DIGEST
