"""Identifiers: their sources, normalisation and hashing (pure; docs/reference/mapping.md §2)."""

from __future__ import annotations

from xconduit.normalize.audience import (
    AUDIENCE_KEYS,
    AudienceIdentifiers,
    audience_identifiers,
    audience_user,
    audience_values,
)
from xconduit.normalize.conversion import (
    MISSING_IDENTIFIER,
    ConversionIdentifiers,
    conversion_identifiers,
)
from xconduit.normalize.hashing import is_sha256_hex, sha256_hex
from xconduit.normalize.identifiers import (
    clean_ip,
    clean_partner_user_id,
    clean_twclid,
    clean_user_agent,
    hash_device_id,
    hash_email,
    hash_handle,
    hash_phone,
    hash_twitter_id,
    is_email_address,
    normalize_device_id,
    normalize_email,
    normalize_handle,
    normalize_phone,
    normalize_twitter_id,
)
from xconduit.normalize.paths import DEFAULT_PATHS, IdentifierPaths
from xconduit.normalize.phone import check_region

__all__ = [
    "AUDIENCE_KEYS",
    "DEFAULT_PATHS",
    "MISSING_IDENTIFIER",
    "AudienceIdentifiers",
    "ConversionIdentifiers",
    "IdentifierPaths",
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
