"""Properties over generated inputs: idempotence, pre-hashed pass-through, no raw PII leaks."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from xconduit.events import parse_event
from xconduit.normalize import (
    audience_user,
    conversion_identifiers,
    hash_device_id,
    hash_email,
    hash_handle,
    hash_phone,
    hash_twitter_id,
    normalize_device_id,
    normalize_email,
    normalize_handle,
    normalize_phone,
)

emails = st.emails() | st.text(min_size=1, max_size=40).map(lambda t: f" {t}@{t.upper()} ")
phones = (
    st.from_regex(r"\+?[1-9][0-9 ()\-.]{6,16}", fullmatch=True)
    | st.integers(min_value=10**6, max_value=10**15)
    | st.text(max_size=20)
)
regions = st.sampled_from(["US", "GB", "DE", "FR", "IN", "BR", "JP", "IT"])
digests = st.text(alphabet="0123456789abcdefABCDEF", min_size=64, max_size=64)


@given(emails)
def test_email_normalisation_is_idempotent(raw: str) -> None:
    once = normalize_email(raw)
    assert once is None or normalize_email(once) == once


@given(phones, regions)
def test_phone_normalisation_is_idempotent(raw: Any, region: str) -> None:
    once = normalize_phone(raw, region)
    if once is not None:
        assert once.startswith("+")
        assert normalize_phone(once, region) == once
        # The E.164 form reads the same whatever region is configured.
        assert normalize_phone(once, "JP") == once


@given(st.text(max_size=30))
def test_handle_normalisation_is_idempotent(raw: str) -> None:
    once = normalize_handle(raw)
    assert once is None or normalize_handle(once) == once


@given(st.uuids().map(str).map(str.upper) | st.text(max_size=40))
def test_device_id_normalisation_is_idempotent(raw: str) -> None:
    once = normalize_device_id(raw)
    assert once is None or normalize_device_id(once) == once


@given(digests, st.sampled_from(["", " ", "\t"]))
def test_prehashed_values_pass_unchanged_but_lowercased(digest: str, pad: str) -> None:
    raw = pad + digest + pad
    for hasher in (hash_email, hash_phone, hash_handle, hash_twitter_id, hash_device_id):
        assert hasher(raw) == digest.lower()


# Values that can be personal data; long enough that a hex digest cannot contain one by chance.
pii_phones = st.from_regex(r"\+?[1-9][0-9 ()\-.]{8,16}", fullmatch=True) | st.integers(
    min_value=10**9, max_value=10**15
)


@given(st.emails(), pii_phones, regions)
def test_no_repr_or_payload_contains_the_raw_email_or_phone(
    email: str, phone: Any, region: str
) -> None:
    event = parse_event(
        {
            "type": "track",
            "event": "Order Completed",
            "userId": "u",
            "properties": {"email": email, "phone": phone},
            "context": {"ip": "::1", "userAgent": "UA"},  # too short to hide a secret
        }
    )
    ids = conversion_identifiers(event, region=region)
    user = audience_user({"email": email, "phone_number": phone}, region=region)
    shown = [repr(ids), repr(user), str(user.payload())]
    if ids.is_sufficient():
        shown.append(str(ids.payload()))
    secrets = {str(email).strip(), str(phone).strip(), normalize_email(email) or ""}
    secrets.add(normalize_phone(phone, region) or "")
    for text in shown:
        for secret in secrets:
            if len(secret) >= 6:
                assert secret not in text
