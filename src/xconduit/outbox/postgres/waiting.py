"""The PostgreSQL store's jobs waiting per priority (`xconduit.outbox.waiting`): destination names
come back through `pg_untext`, as everywhere in this store."""

from __future__ import annotations

from xconduit.outbox.postgres.text import pg_untext
from xconduit.outbox.sql import load_queries
from xconduit.outbox.waiting import ByPriority, SqliteWaiting


class PostgresWaiting(SqliteWaiting):
    _waiting_query = load_queries("postgresql", "waiting.sql")["waiting_by_priority"]

    def waiting_by_priority(self) -> ByPriority:
        rows = self._read(self._waiting_query, {})
        return {(pg_untext(d), o, int(p)): int(n) for d, o, p, n in rows}
