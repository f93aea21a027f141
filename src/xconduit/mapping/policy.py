"""Consent and suppression (docs/reference/mapping.md §6), pure."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any


def consent_refusal(context: Mapping[str, Any], *, category: str, missing: str) -> str | None:
    """Why the event may not go to a destination that requires `category`, or None when it may."""
    if not category:
        return None
    consent = context.get("consent")
    prefs = consent.get("categoryPreferences") if isinstance(consent, dict) else None
    if not isinstance(prefs, dict):
        if missing == "deny":
            return "consent: the event carries no consent and missing_consent is deny"
        return None
    granted = prefs.get(category)
    if granted is None:
        lowered = category.lower()
        granted = next((v for k, v in prefs.items() if str(k).lower() == lowered), None)
    if granted is True:
        return None
    return f"consent: {category} is not granted"


def suppressed(
    user_id: str | None,
    hashes: tuple[str | None, ...],
    *,
    user_ids: Collection[str],
    hashed: Collection[str],
) -> bool:
    if user_id is not None and user_id in user_ids:
        return True
    return any(h is not None and h in hashed for h in hashes)
