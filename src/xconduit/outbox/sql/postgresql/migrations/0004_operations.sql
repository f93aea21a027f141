-- Operations: counters (totals and per minute), the live debugger's recent events, secrets.

-- Running totals of what happened: never purged, what /metrics exports.
CREATE TABLE counters (
    name   TEXT NOT NULL,
    labels TEXT NOT NULL,
    value  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (name, labels)
);

-- The same increments per minute (epoch seconds // 60), for the dashboard's hour and day.
CREATE TABLE counter_minutes (
    minute BIGINT NOT NULL,
    name   TEXT NOT NULL,
    labels TEXT NOT NULL,
    value  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (minute, name, labels)
);

-- The last events per source with their outcome per destination (hashed identifiers only).
CREATE TABLE recent_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source      TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    event       TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    results     BYTEA NOT NULL
);

CREATE INDEX recent_events_source ON recent_events (source, id);

-- The debugger finds a conversion's job by (destination, message_id).
CREATE INDEX job_payloads_message ON job_payloads (destination, message_id);

-- Small encrypted values (the connected X account's tokens); never plain secrets.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      BYTEA NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
