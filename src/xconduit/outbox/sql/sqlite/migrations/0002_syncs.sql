-- Warehouse syncs: where each sync has got to, and which delivery processes are alive.

-- One row per sync. `cursor` (JSON {"type", "value"}; NULL: from the start) advances in the
-- transaction that commits the delivery jobs of the rows it covers. `generation` grows with each
-- `--full` run, so rows read again then are new events, not duplicates.
CREATE TABLE sync_state (
    name       TEXT PRIMARY KEY,
    cursor     TEXT,
    generation INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
) WITHOUT ROWID;

-- One row per running `serve` / `worker` process, refreshed every few seconds: a sync that must
-- wait for delivery delivers itself when no row is fresh.
CREATE TABLE worker_heartbeats (
    id      TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,
    host    TEXT NOT NULL,
    pid     INTEGER NOT NULL,
    seen_at REAL NOT NULL
) WITHOUT ROWID;
