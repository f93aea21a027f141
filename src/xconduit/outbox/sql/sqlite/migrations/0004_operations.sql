-- Operations: counters (totals and per minute), the live debugger's recent events, secrets.

-- Running totals of what happened: never purged, what /metrics exports.
CREATE TABLE counters (
    name   TEXT NOT NULL,
    labels TEXT NOT NULL,
    value  REAL NOT NULL,
    PRIMARY KEY (name, labels)
) WITHOUT ROWID;

-- The same increments per minute (epoch seconds // 60), for the dashboard's hour and day.
CREATE TABLE counter_minutes (
    minute INTEGER NOT NULL,
    name   TEXT NOT NULL,
    labels TEXT NOT NULL,
    value  REAL NOT NULL,
    PRIMARY KEY (minute, name, labels)
) WITHOUT ROWID;

-- The last events per source with their outcome per destination (hashed identifiers only).
CREATE TABLE recent_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    event       TEXT NOT NULL,
    received_at REAL NOT NULL,
    results     BLOB NOT NULL
);

CREATE INDEX recent_events_source ON recent_events (source, id);

-- The debugger finds a conversion's job by (destination, message_id).
CREATE INDEX delivery_jobs_message ON delivery_jobs (destination, message_id);

-- Small encrypted values (the connected X account's tokens); never plain secrets.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    updated_at REAL NOT NULL
) WITHOUT ROWID;
