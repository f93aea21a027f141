"""SQL kept as files: named queries, the fresh schema and numbered migrations, per dialect.

    sql/<dialect>/queries.sql           `-- name: <name>` + one `-- <description>` line per query
    sql/<dialect>/budget.sql            the same, for the rate ledger
    sql/<dialect>/schema.sql            the schema as the migrations leave it
    sql/<dialect>/migrations/NNNN_<what>.sql

Files are read once (cached) through importlib.resources, so they work from a wheel too.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from xconduit.errors import StoreError

_HEADER = re.compile(r"^-- name: (?P<name>\w+)[ \t]*\n(?P<doc>-- .*\S.*)?", re.MULTILINE)
_MIGRATION = re.compile(r"^(?P<version>\d{4})_(?P<name>\w+)\.sql$")


@dataclass(frozen=True, kw_only=True, slots=True)
class Migration:
    """One numbered schema change."""

    version: int
    name: str
    sql: str


def parse_queries(text: str) -> dict[str, str]:
    """Named queries of a `queries.sql` text; each needs a one-line description under its name."""
    matches = list(_HEADER.finditer(text))
    queries: dict[str, str] = {}
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        name = match["name"]
        if match["doc"] is None:
            raise StoreError(f"query {name!r} has no '-- description' line under its name")
        if name in queries:
            raise StoreError(f"query {name!r} is defined twice")
        end = following.start() if following else len(text)
        body = text[match.end() : end].strip()
        if not body:
            raise StoreError(f"query {name!r} is empty")
        queries[name] = body
    return queries


def _folder(dialect: str) -> Traversable:
    return resources.files(__name__) / dialect


@functools.cache
def load_queries(dialect: str, file: str = "queries.sql") -> dict[str, str]:
    """The named queries of `dialect` ("sqlite", "postgresql") in `file`."""
    return parse_queries((_folder(dialect) / file).read_text(encoding="utf-8"))


@functools.cache
def load_schema(dialect: str) -> str:
    """The fresh schema of `dialect`."""
    return (_folder(dialect) / "schema.sql").read_text(encoding="utf-8")


@functools.cache
def load_migrations(dialect: str) -> tuple[Migration, ...]:
    """The migrations of `dialect` in order; versions must be unique and start at 1.

    A gap is allowed (branches number their migrations ahead of each other); a database is at
    the version of the last migration applied."""
    found = []
    for entry in (_folder(dialect) / "migrations").iterdir():
        match = _MIGRATION.match(entry.name)
        if match:
            found.append(
                Migration(
                    version=int(match["version"]),
                    name=match["name"],
                    sql=entry.read_text(encoding="utf-8"),
                )
            )
    found.sort(key=lambda migration: migration.version)
    versions = [m.version for m in found]
    if not versions or versions[0] != 1 or len(set(versions)) != len(versions):
        raise StoreError(f"{dialect} migrations are not numbered 1, 2, …: {versions}")
    return tuple(found)
