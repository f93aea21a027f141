"""The PostgreSQL outbox of a fleet (see `store.py`); needs psycopg, the postgres extra."""

from __future__ import annotations

from xconduit.outbox.postgres.store import PostgresStore, Q, migrate

__all__ = ["PostgresStore", "Q", "migrate"]
