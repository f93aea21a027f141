-- The rate ledger: each X account's budget, shared by every process on this store.

-- What X's answers told us about an account (a lower limit, a cap until its reset, a 429 block).
CREATE TABLE rate_accounts (
    account_id    TEXT PRIMARY KEY,
    events_limit  INTEGER,
    blocked_until REAL NOT NULL DEFAULT 0,
    cap_events    INTEGER,
    cap_until     REAL,
    cap_since     REAL
) WITHOUT ROWID;

-- Holds (claimed, not yet sent; held = 1) and sends in the current window of each account.
CREATE TABLE rate_spends (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    held       INTEGER NOT NULL,
    events     INTEGER NOT NULL,
    requests   INTEGER NOT NULL,
    started_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    settled_at REAL
);

CREATE INDEX rate_spends_account ON rate_spends (account_id);
