"""The optional packages a snapshot needs, checked before anything is created or sent at X.

A snapshot is hashed in DuckDB from Arrow batches, and DuckDB needs numpy to call the Python
normalisers; all three come with the `audiences` extra. Found missing half-way (after X created
the audience), they used to end in a traceback.
"""

from __future__ import annotations

import importlib

from xconduit.config import AudienceSettings
from xconduit.errors import ConfigError, SourceError
from xconduit.extras import install_command
from xconduit.sources import check_source

SNAPSHOT_PACKAGES = ("duckdb", "pyarrow", "numpy")


def missing_packages(names: tuple[str, ...] = SNAPSHOT_PACKAGES) -> list[str]:
    """The packages of `names` that cannot be imported here."""
    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def require_snapshot_packages(audience: AudienceSettings, *, reader: bool = True) -> None:
    """Raise `ConfigError` naming the extra and its install command when the audience's
    snapshot could not be read here (`reader`: its source's reader too)."""
    if not audience.source:
        return
    missing = missing_packages()
    if missing:
        raise ConfigError(
            f"audience {audience.name}: reading its snapshot needs {', '.join(missing)} "
            f"(the audiences extra), not installed here; nothing was sent to X; install it "
            f"with: {install_command('audiences')}"
        )
    if not reader:
        return
    try:
        check_source(audience.source)
    except SourceError as exc:
        raise ConfigError(f"audiences.{audience.name}.source: {exc}") from None
