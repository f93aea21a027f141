from __future__ import annotations

import xconduit.normalize


def test_public_surface_is_pinned() -> None:
    assert sorted(xconduit.normalize.__all__) == [
        "AUDIENCE_KEYS",
        "AudienceIdentifiers",
        "ConversionIdentifiers",
        "DEFAULT_PATHS",
        "IdentifierPaths",
        "MISSING_IDENTIFIER",
        "audience_identifiers",
        "audience_user",
        "audience_values",
        "check_region",
        "clean_ip",
        "clean_partner_user_id",
        "clean_twclid",
        "clean_user_agent",
        "conversion_identifiers",
        "hash_device_id",
        "hash_email",
        "hash_handle",
        "hash_phone",
        "hash_twitter_id",
        "is_email_address",
        "is_sha256_hex",
        "normalize_device_id",
        "normalize_email",
        "normalize_handle",
        "normalize_phone",
        "normalize_twitter_id",
        "sha256_hex",
    ]
    for name in xconduit.normalize.__all__:
        assert hasattr(xconduit.normalize, name)
