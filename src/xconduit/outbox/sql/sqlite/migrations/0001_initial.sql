-- The outbox: events seen (for dedup) and delivery jobs.

CREATE TABLE schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- One row per (source, messageId) accepted, kept at least 24 h to drop resent events.
CREATE TABLE received_events (
    source      TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    received_at REAL NOT NULL,
    PRIMARY KEY (source, message_id)
) WITHOUT ROWID;

CREATE INDEX received_events_received_at ON received_events (received_at);

-- AUTOINCREMENT: an id is never reused after a purge, so a very late ack cannot hit a new job.
CREATE TABLE delivery_jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    destination     TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    pixel_id        TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    conversion_id   TEXT NOT NULL,
    payload         BLOB NOT NULL,
    status          TEXT NOT NULL CHECK (
        status IN ('pending', 'in_flight', 'delivered', 'retry_scheduled', 'dead')
    ),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    lease_until     REAL,
    last_error      TEXT,
    delivered_at    REAL
);

-- The claim: due work of one destination in due order. Only active jobs are indexed.
CREATE INDEX delivery_jobs_due ON delivery_jobs (destination, next_attempt_at, id)
    WHERE status IN ('pending', 'retry_scheduled', 'in_flight');

-- Counts, dead letters and retention.
CREATE INDEX delivery_jobs_status ON delivery_jobs (status, destination);
