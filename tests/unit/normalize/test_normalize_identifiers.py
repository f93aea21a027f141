"""docs/reference/mapping.md §2.2, one table per identifier."""

from __future__ import annotations

from typing import Any

import pytest

from xconduit.normalize import (
    clean_ip,
    clean_partner_user_id,
    clean_twclid,
    clean_user_agent,
    hash_device_id,
    hash_email,
    hash_handle,
    hash_phone,
    hash_twitter_id,
    normalize_device_id,
    normalize_email,
    normalize_handle,
    normalize_twitter_id,
    sha256_hex,
)

EMAIL_DIGEST = "e586883b2b4faf78d48300a79e0e15138d664cdf796ffb86e533170a9893eda8"
HANDLE_DIGEST = "49e0be2aeccfb51a8dee4c945c8a70a9ac500cf6f5cb08112575f74db9b1470d"

NOT_TEXT: list[Any] = [None, True, False, {}, {"email": "a@b.c"}, ["a@b.c"], 1.5]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("test-email@test.com", "test-email@test.com"),
        ("  Test-Email@TEST.com\t", "test-email@test.com"),
        ("JOSÉ@Example.COM", "josé@example.com"),
        ("no-at-sign", None),
        ("   ", None),
        ("", None),
        *[(value, None) for value in NOT_TEXT],
        (12, None),
    ],
)
def test_normalize_email(raw: Any, expected: str | None) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("test-email@test.com", EMAIL_DIGEST),
        (" TEST-EMAIL@test.COM ", EMAIL_DIGEST),
        (EMAIL_DIGEST, EMAIL_DIGEST),
        (EMAIL_DIGEST.upper(), EMAIL_DIGEST),
        ("no-at-sign", None),
        ("", None),
        *[(value, None) for value in NOT_TEXT],
    ],
)
def test_hash_email(raw: Any, expected: str | None) -> None:
    assert hash_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("tw-abc123", "tw-abc123"),
        ("  23opevjt88psuo13lu8d020qkn ", "23opevjt88psuo13lu8d020qkn"),
        # A click id that looks like a digest is still a click id: passed as is, never hashed.
        (EMAIL_DIGEST.upper(), EMAIL_DIGEST.upper()),
        (123456, "123456"),
        ("", None),
        (" ", None),
        (None, None),
        (True, None),
        ({"twclid": "x"}, None),
        # Not an X click id: personal data put in the wrong field, never sent in the clear.
        ("someone@example.com", None),
        ("+14155550199", None),
        ("(415) 555-0199", None),
        ("4155550199", None),
        (4155550199, None),
        ("a b", None),
        ("x" * 129, None),
    ],
)
def test_clean_twclid_is_never_hashed(raw: Any, expected: str | None) -> None:
    assert clean_twclid(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7\n", "203.0.113.7"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.255"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:0DB8:0000:0000:0000:0000:0000:0001"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("256.1.1.1", None),
        ("1.2.3", None),
        ("01.2.3.4", None),
        ("1.2.3.4.5", None),
        ("example.com", None),
        ("2001:db8::g", None),
        ("", None),
        (None, None),
        (16909060, None),
        (["1.2.3.4"], None),
    ],
)
def test_clean_ip(raw: Any, expected: str | None) -> None:
    assert clean_ip(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Mozilla/5.0 (X11; Linux x86_64) ", "Mozilla/5.0 (X11; Linux x86_64)"),
        ("", None),
        ("  ", None),
        (None, None),
        (5, None),
    ],
)
def test_clean_user_agent(raw: Any, expected: str | None) -> None:
    assert clean_user_agent(raw) == expected


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("adsapi", "adsapi"),
        ("@AdsAPI", "adsapi"),
        ("  @adsapi  ", "adsapi"),
        ("@ adsapi", "adsapi"),
        ("@@adsapi", None),
        ("@", None),
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_handle(raw: Any, normalised: str | None) -> None:
    assert normalize_handle(raw) == normalised
    assert hash_handle(raw) == (None if normalised is None else sha256_hex(normalised))


def test_hash_handle_matches_x_vector() -> None:
    assert hash_handle("@AdsAPI") == HANDLE_DIGEST
    assert hash_handle(HANDLE_DIGEST.upper()) == HANDLE_DIGEST


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("143567", "143567"),
        (" 143567 ", "143567"),
        (143567, "143567"),
        (1.43567e5, "143567"),
        (2**62, str(2**62)),
        ("14356a", None),
        ("-143567", None),
        ("١٢٣", None),  # Arabic-Indic digits are digits to Python, not to X
        ("1 234", None),
        (-5, None),
        (1.5, None),
        (True, None),
        ("", None),
        (None, None),
    ],
)
def test_twitter_id(raw: Any, normalised: str | None) -> None:
    assert normalize_twitter_id(raw) == normalised
    assert hash_twitter_id(raw) == (None if normalised is None else sha256_hex(normalised))


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("4B61639E-47CC-4056-A16A-C8217E029462", "4b61639e-47cc-4056-a16a-c8217e029462"),
        (" 2f5f5391-3e45-4d02-b645-4575a08f86e ", "2f5f5391-3e45-4d02-b645-4575a08f86e"),
        ("af3802a465767e36", "af3802a465767e36"),
        ("", None),
        (None, None),
        (123, None),
    ],
)
def test_device_id_keeps_dashes(raw: Any, normalised: str | None) -> None:
    assert normalize_device_id(raw) == normalised
    assert hash_device_id(raw) == (None if normalised is None else sha256_hex(normalised))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" crm-42 ", "crm-42"),
        ("2024-11-30-000123", "2024-11-30-000123"),
        (42, "42"),
        ("", None),
        (None, None),
        (False, None),
        # personal data in the id: X would get it in the clear, so it gets the id's SHA-256
        (" user@example.com ", sha256_hex("user@example.com")),
        ("crm:+1 415 555 0142", sha256_hex("crm:+1 415 555 0142")),
    ],
)
def test_partner_user_id_is_sent_as_given_unless_personal(raw: Any, expected: str | None) -> None:
    assert clean_partner_user_id(raw) == expected


@pytest.mark.parametrize(
    "hasher", [hash_email, hash_phone, hash_handle, hash_twitter_id, hash_device_id]
)
def test_prehashed_values_pass_through_every_hashed_identifier(hasher: Any) -> None:
    assert hasher(EMAIL_DIGEST.upper()) == EMAIL_DIGEST


# The RFC 5321 subset (docs/explanation/hashing.md): junk with an `@` is no email address.
@pytest.mark.parametrize(
    ("raw", "valid"),
    [
        ("ana@example.com", True),
        ("a.b+tag@mail.example.co.uk", True),
        ("o'brien@example.ie", True),
        ("jöhn@exämple.de", True),  # RFC 6531: UTF-8 in both parts
        ("a@x.c", True),
        ("bad@@victim.example", False),
        ("@@", False),
        ("a b@@c.example", False),
        ("a b@c.example", False),
        ("ana@example.com\x00", False),
        ("a\x00@x.example", False),
        ("ana@exa\x1fmple.com", False),
        ("ana@exa\x85mple.com", False),  # a C1 control
        ("ana@example.com\u00a0x", False),  # a non-breaking space
        ("@example.com", False),
        ("ana@", False),
        (".ana@example.com", False),
        ("ana.@example.com", False),
        ("a..na@example.com", False),
        ("ana@-example.com", False),
        ("ana@example-.com", False),
        ("ana@example..com", False),
        ("ana@example.com.", False),
        ("ana@localhost", False),
        ("ana@192.0.2.1", False),
        ("ana@[192.0.2.1]", False),
        ('"ana b"@example.com', False),
        ("a" * 65 + "@example.com", False),
        ("a@" + "b" * 64 + ".com", False),
        ("a@" + ".".join(["b" * 60] * 5) + ".com", False),  # over 254 in all
    ],
)
def test_email_addresses_follow_rfc_5321(raw: str, valid: bool) -> None:
    assert (normalize_email(raw) is not None) is valid
    assert (hash_email(raw) is not None) is valid


CONTROLS = ["\x00", "\x01", "\n", "\x1b", "\x7f", "\x9b"]


@pytest.mark.parametrize("control", CONTROLS)
@pytest.mark.parametrize(
    ("clean", "value"),
    [
        (hash_email, "ana@exa{}mple.com"),
        (hash_phone, "+1 415 555 01{}00"),
        (hash_phone, "+1 415 555 0100{}x"),
        (hash_phone, "+1 415 555{}0100"),
        (clean_twclid, "23opevjt88{}psuo13lu8d020qkn"),
        (clean_ip, "203.0.113.9{}1"),
        (clean_user_agent, "Mozilla/5.0 {}(X11)"),
        (hash_handle, "@ad{}sapi"),
        (hash_twitter_id, "1435{}67"),
        (hash_device_id, "4b61639e-47cc{}-4056"),
        (clean_partner_user_id, "cust{}-1"),
    ],
)
def test_a_control_character_makes_any_identifier_invalid(
    clean: Any, value: str, control: str
) -> None:
    assert clean(value.replace("{}", "")) is not None
    assert clean(value.replace("{}", control)) is None
