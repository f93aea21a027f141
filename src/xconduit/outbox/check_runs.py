"""Runs of the setup checks asked for by a person, counted in the store (migration 0011).

`xconduit check` and the dashboard's check button count each run (`note_check_run`); every
delivery process polls the count (`check_runs`, one row) and runs its own checks when it grows,
so that a passing check resumes paused delivery everywhere on the store within seconds. Mixins
of the three stores; each uses its store's `_read` and write helper.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from xconduit.outbox.sql import load_queries


@runtime_checkable
class CheckRuns(Protocol):
    def note_check_run(self, *, now: float) -> int:
        """Count one run; the new count."""
        ...

    def check_runs(self) -> int:
        """The runs counted so far (0 on a new store)."""
        ...


class SqliteCheckRuns:
    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _read(self, query: str, params: dict[str, Any]) -> list[Any]:
        raise NotImplementedError

    def note_check_run(self, *, now: float) -> int:
        queries = load_queries("sqlite", "check_runs.sql")
        with self._write() as conn:
            conn.execute(queries["note_check_run"], {"now": now})
            runs: int = conn.execute(queries["check_runs"]).fetchone()[0]
        return runs

    def check_runs(self) -> int:
        rows = self._read(load_queries("sqlite", "check_runs.sql")["check_runs"], {})
        return int(rows[0][0]) if rows else 0


class PostgresCheckRuns:
    def _read(self, query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def note_check_run(self, *, now: float) -> int:
        note = load_queries("postgresql", "check_runs.sql")["note_check_run"]
        return int(self._read(note, {"now": now})[0][0])

    def check_runs(self) -> int:
        rows = self._read(load_queries("postgresql", "check_runs.sql")["check_runs"], {})
        return int(rows[0][0]) if rows else 0


class MemoryCheckRuns:
    _check_lock = threading.Lock()
    _runs = 0

    def note_check_run(self, *, now: float) -> int:
        with self._check_lock:
            self._runs += 1
            return self._runs

    def check_runs(self) -> int:
        return self._runs
