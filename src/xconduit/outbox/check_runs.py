"""Runs of the setup checks asked for by a person, counted in the store (migration 0011).

`xconduit check` and the dashboard's check button count each run (`note_check_run`); every
delivery process polls the count (`check_runs`, one row) and runs its own checks when it grows,
so that a passing check resumes paused delivery everywhere on the store within seconds. Mixins
of the stores: one for memory, one for SQL (the dialect's `check_runs.sql`).
"""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

from xconduit.outbox.sql_base import SqlAccess


@runtime_checkable
class CheckRuns(Protocol):
    def note_check_run(self, *, now: float) -> int:
        """Count one run; the new count."""
        ...

    def check_runs(self) -> int:
        """The runs counted so far (0 on a new store)."""
        ...


class SqlCheckRuns:
    def note_check_run(self: SqlAccess, *, now: float) -> int:
        queries = self._dialect.check_runs
        with self._write() as conn:
            conn.execute(queries["note_check_run"], {"now": now})
            runs: int = conn.execute(queries["check_runs"]).fetchone()[0]
        return runs

    def check_runs(self: SqlAccess) -> int:
        rows = self._read(self._dialect.check_runs["check_runs"], {})
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
