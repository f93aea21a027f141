"""The PostgreSQL store's sync run history (`xconduit.outbox.sync_runs`): text that may hold NUL
goes through `pg_text`, as everywhere in this store."""

from __future__ import annotations

import dataclasses

from xconduit.outbox.postgres.text import pg_text, pg_untext
from xconduit.outbox.sql import load_queries
from xconduit.outbox.sync_runs import KEEP, SqliteSyncRuns, SyncRun, row_of


class PostgresSyncRuns(SqliteSyncRuns):
    def note_sync_run(self, run: SyncRun) -> None:
        queries = load_queries("postgresql", "sync_runs.sql")
        params = dataclasses.asdict(run)
        for key in ("sync", "why"):  # text from a source or an error can hold NUL
            params[key] = pg_text(params[key])
        with self._write() as conn:
            conn.execute(queries["note_sync_run"], params)
            conn.execute(queries["forget_old_sync_runs"], {"sync": params["sync"], "keep": KEEP})

    def sync_runs(self, sync: str, *, limit: int = 20) -> list[SyncRun]:
        query = load_queries("postgresql", "sync_runs.sql")["sync_runs"]
        rows = self._read(query, {"sync": pg_text(sync), "limit": limit})
        return [
            dataclasses.replace(run, sync=sync, why=pg_untext(run.why)) for run in map(row_of, rows)
        ]
