"""Where the outbox named by `server.store` lives, and opening it.

Every command opens the outbox here: `serve` and `worker` (waiting `STARTUP_WAIT` for an
unreachable database), `sync`, `audiences`, `connect`, `check` and `dlq`. The functions take the
store URL (`sqlite:///<path>` or `postgresql://...`) and plain values, not the configuration, so
the outbox stays independent of the rest of xconduit.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from xconduit.errors import ConfigError, StoreError
from xconduit.extras import install_command
from xconduit.outbox import Store
from xconduit.outbox.sqlite import BULK_CHECKPOINT_PAGES, SqliteStore

log = logging.getLogger("xconduit.outbox")

STARTUP_WAIT = 60.0
"""How long `serve` and `worker` wait for an unreachable outbox database at start."""


def is_database_store(url: str) -> bool:
    """A PostgreSQL outbox (a server), not a SQLite file."""
    return url.startswith(("postgresql://", "postgres://"))


def store_path(url: str, *, workdir: Path | None = None) -> Path:
    """The SQLite file of a `sqlite:///` URL; a relative path is under `workdir` (or cwd)."""
    if not url.startswith("sqlite:///"):
        raise ConfigError(f"server.store = {url!r}: only sqlite:/// stores exist so far")
    path = Path(url.removeprefix("sqlite:///"))
    return path if path.is_absolute() else (workdir or Path.cwd()) / path


def store_exists(url: str, *, workdir: Path | None = None) -> bool:
    """Whether the outbox is there to read (a database server is assumed to be)."""
    return is_database_store(url) or store_path(url, workdir=workdir).exists()


def sync_reports(url: str, *, workdir: Path | None = None) -> Path:
    """Where sync reports go: `reports/` beside the SQLite outbox file; with a PostgreSQL outbox,
    `.xconduit/reports/` in the folder xconduit runs in (reports are files, not rows)."""
    if is_database_store(url):
        return (workdir or Path.cwd()) / ".xconduit" / "reports"
    return store_path(url, workdir=workdir).parent / "reports"


def open_store(
    url: str,
    *,
    busy_timeout: float,
    workdir: Path | None = None,
    wait: float = 0.0,
    bulk: bool = False,
) -> Store:
    """The outbox at `url`, created (with its folder) when missing. `busy_timeout`:
    `server.busy_timeout`. `wait`: seconds to keep retrying an unreachable database
    (long-running processes only). `bulk`: the process writes large batches (a sync's)."""
    if is_database_store(url):
        return open_postgres(url, wait=wait, timeout=busy_timeout)
    path = store_path(url, workdir=workdir)
    path.parent.mkdir(parents=True, exist_ok=True)
    pages = BULK_CHECKPOINT_PAGES if bulk else None
    return SqliteStore(path, busy_timeout=busy_timeout, checkpoint_pages=pages)


def open_postgres(url: str, *, wait: float = 0.0, timeout: float = 10.0) -> Store:
    """The `PostgresStore` at `url` (migrated to the current schema). With `wait` > 0 an
    unreachable database is retried for that many seconds: a worker or collector started
    beside its database (or while it restarts) waits for it instead of exiting. `timeout`: the
    longest a read or write waits for a working connection (then it fails: the collector 503s)."""
    try:
        from xconduit.outbox.postgres import PostgresStore
    except ImportError as error:
        raise ConfigError(
            "server.store is a postgresql:// URL but psycopg is not installed; "
            f"install it with: {install_command('postgres')}"
        ) from error
    deadline = time.monotonic() + wait
    pause = 0.5
    while True:
        try:
            return PostgresStore(url, timeout=timeout)
        except StoreError as error:
            if time.monotonic() + pause > deadline:
                raise
            log.warning("waiting for the outbox database (retrying in %.1fs): %s", pause, error)
            time.sleep(pause)
            pause = min(pause * 2, 5.0)
