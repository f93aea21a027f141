"""Text for PostgreSQL, which cannot hold NUL in a `text` value (SQLite can)."""

from __future__ import annotations

import re


def pg_text(value: str) -> str:
    """`value` as PostgreSQL text, which cannot hold NUL: `\\` → `\\\\`, NUL → `\\0` (reversible,
    so two ids stay two ids). Everything else is stored as it is."""
    if "\\" in value or "\x00" in value:
        return value.replace("\\", "\\\\").replace("\x00", "\\0")
    return value


def pg_untext(value: str) -> str:
    """The inverse of `pg_text`."""
    if "\\" not in value:
        return value
    return _ESCAPE.sub(lambda match: "\x00" if match[0] == "\\0" else "\\", value)


_ESCAPE = re.compile(r"\\[\\0]")
