"""Migration 0009 on an outbox of an older xconduit: members keep their identifiers, which are
indexed (a removal spares members sharing one), and have no send time (sent again by the next
run: X may have lost them to an older removal, and forgets them after 13 months)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from xconduit.outbox.sql import load_migrations
from xconduit.outbox.sqlite import SqliteStore, split_statements


def test_members_of_an_older_outbox_are_indexed_and_sent_again(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "q.db", isolation_level=None)
    for migration in load_migrations("sqlite"):
        if migration.version >= 9:
            break
        for statement in split_statements(migration.sql):
            conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_version (version, name) VALUES (?, ?)",
            (migration.version, migration.name),
        )
    conn.executemany(
        "INSERT INTO audience_members (audience, user_key, payload) VALUES ('vip', ?, ?)",
        [
            ("ann", '{"email":["a"],"phone_number":["p"]}'),
            ("bob", '{"email":["b"],"phone_number":["p"]}'),
        ],
    )
    conn.close()

    store = SqliteStore(tmp_path / "q.db")
    assert store.schema_version == load_migrations("sqlite")[-1].version
    shared = store.shared_audience_ids(
        "vip", [("email", "a"), ("phone_number", "p")], excluded=["ann"]
    )
    assert shared == {("phone_number", "p")}
    assert store.queue_audience_refresh("vip", before=0.0, now=1.0) == 2
    store.close()
