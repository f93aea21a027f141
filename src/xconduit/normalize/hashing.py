"""SHA-256 of normalised identifiers, as X expects it: unsalted, lowercase hex (pure).

A value that already is 64 hex characters is taken as pre-hashed by the sender: it is lowercased
and passed through, never hashed a second time (a digest of a digest matches nobody).
"""

from __future__ import annotations

import hashlib
import re

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


def sha256_hex(text: str) -> str:
    """SHA-256 of the UTF-8 bytes of `text`, as 64 lowercase hex characters."""
    return hashlib.sha256(text.encode()).hexdigest()


def is_sha256_hex(text: str) -> bool:
    """True when `text` is exactly 64 hex characters, in either case (a pre-hashed value)."""
    return len(text) == 64 and _SHA256_HEX.fullmatch(text) is not None


def prehashed(text: str) -> str | None:
    """The lowercased digest when `text` (already trimmed) is pre-hashed, else None."""
    if len(text) == 64 and _SHA256_HEX.fullmatch(text) is not None:
        return text.lower()
    return None
