-- Named queries of the rate ledger (see xconduit.outbox.budget), SQLite.

-- name: lock_account
-- Nothing to do: BEGIN IMMEDIATE already holds the database's write lock.
SELECT 1;

-- name: ledger_account
-- What X's answers told us about the account.
SELECT events_limit, blocked_until, cap_events, cap_until, cap_since
FROM rate_accounts WHERE account_id = :account_id;

-- name: prune_spends
-- Forget holds whose lease ended and sends out of the window.
DELETE FROM rate_spends
WHERE account_id = :account_id
  AND CASE WHEN held THEN expires_at <= :now ELSE coalesce(settled_at, expires_at) <= :horizon END;

-- name: ledger_spends
-- The account's holds and sends that still count.
SELECT id, events, requests, held, started_at, expires_at, settled_at
FROM rate_spends WHERE account_id = :account_id ORDER BY id;

-- name: add_spend
-- A new hold or send.
INSERT INTO rate_spends (account_id, held, events, requests, started_at, expires_at)
VALUES (:account_id, :held, :events, :requests, :started_at, :expires_at)
RETURNING id;

-- name: settle_spend
-- X answered the send.
UPDATE rate_spends SET settled_at = :now WHERE id = :id AND NOT held;

-- name: unhold
-- Give back events of a hold.
UPDATE rate_spends SET events = events - :events WHERE id = :id AND held;

-- name: drop_empty_holds
-- Holds with nothing left.
DELETE FROM rate_spends WHERE held AND events <= 0;

-- name: save_account
-- Store what X's answers told us about the account.
INSERT INTO rate_accounts (
    account_id, events_limit, blocked_until, cap_events, cap_until, cap_since
)
VALUES (:account_id, :events_limit, :blocked_until, :cap_events, :cap_until, :cap_since)
ON CONFLICT (account_id) DO UPDATE SET
    events_limit = excluded.events_limit,
    blocked_until = excluded.blocked_until,
    cap_events = excluded.cap_events,
    cap_until = excluded.cap_until,
    cap_since = excluded.cap_since;
