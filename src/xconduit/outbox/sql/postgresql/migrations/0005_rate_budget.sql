-- The rate ledger: each X account's budget, shared by every process on this store.

-- What X's answers told us about an account (a lower limit, a cap until its reset, a 429 block).
-- Its row is also the lock that serialises the budget transactions of the account.
CREATE TABLE rate_accounts (
    account_id    TEXT PRIMARY KEY,
    events_limit  INTEGER,
    blocked_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    cap_events    INTEGER,
    cap_until     DOUBLE PRECISION,
    cap_since     DOUBLE PRECISION
);

-- Holds (claimed, not yet sent) and sends in the current window of each account.
CREATE TABLE rate_spends (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id TEXT NOT NULL,
    held       BOOLEAN NOT NULL,
    events     INTEGER NOT NULL,
    requests   INTEGER NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    settled_at DOUBLE PRECISION
);

CREATE INDEX rate_spends_account ON rate_spends (account_id);
