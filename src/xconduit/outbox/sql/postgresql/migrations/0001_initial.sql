-- The outbox: events seen (for dedup), immutable job payloads and their narrow mutable state.

CREATE TABLE schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per (source, messageId) accepted, kept at least 24 h to drop resent events.
CREATE TABLE received_events (
    source      TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (source, message_id)
);

CREATE INDEX received_events_received_at ON received_events (received_at);

-- Ids come from one sequence, never reused after a purge (a late ack cannot hit a new job).
CREATE SEQUENCE delivery_job_ids;

-- Written once by COPY, never updated: claims and acks rewrite only the narrow job_state row.
CREATE TABLE job_payloads (
    id            BIGINT PRIMARY KEY,
    destination   TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    pixel_id      TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    conversion_id TEXT NOT NULL,
    payload       BYTEA NOT NULL
);

CREATE TABLE job_state (
    id              BIGINT PRIMARY KEY REFERENCES job_payloads (id) ON DELETE CASCADE,
    destination     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (
        status IN ('pending', 'in_flight', 'delivered', 'retry_scheduled', 'dead')
    ),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      DOUBLE PRECISION NOT NULL,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    lease_until     DOUBLE PRECISION,
    last_error      TEXT,
    delivered_at    DOUBLE PRECISION
) WITH (fillfactor = 70);

-- The claim: due work of one destination in due order. Only active jobs are indexed.
CREATE INDEX job_state_due ON job_state (destination, next_attempt_at, id)
    WHERE status IN ('pending', 'retry_scheduled', 'in_flight');

-- Counts, dead letters and retention.
CREATE INDEX job_state_status ON job_state (status, destination);
