-- Named queries of the rate ledger (see xconduit.outbox.budget), PostgreSQL.

-- name: lock_account
-- Take the account's row lock: its budget transactions run one at a time across the fleet.
INSERT INTO rate_accounts (account_id) VALUES (%(account_id)s)
ON CONFLICT (account_id) DO UPDATE SET account_id = excluded.account_id;

-- name: ledger_account
-- What X's answers told us about the account.
SELECT events_limit, blocked_until, cap_events, cap_until, cap_since
FROM rate_accounts WHERE account_id = %(account_id)s;

-- name: prune_spends
-- Forget holds whose lease ended and sends out of the window.
DELETE FROM rate_spends
WHERE account_id = %(account_id)s
  AND CASE WHEN held THEN expires_at <= %(now)s ELSE coalesce(settled_at, expires_at) <= %(horizon)s END;

-- name: ledger_spends
-- The account's holds and sends that still count.
SELECT id, events, requests, held, started_at, expires_at, settled_at
FROM rate_spends WHERE account_id = %(account_id)s ORDER BY id;

-- name: add_spend
-- A new hold or send.
INSERT INTO rate_spends (account_id, held, events, requests, started_at, expires_at)
VALUES (%(account_id)s, %(held)s, %(events)s, %(requests)s, %(started_at)s, %(expires_at)s)
RETURNING id;

-- name: settle_spend
-- X answered the send.
UPDATE rate_spends SET settled_at = %(now)s WHERE id = %(id)s AND NOT held;

-- name: unhold
-- Give back events of a hold.
UPDATE rate_spends SET events = events - %(events)s WHERE id = %(id)s AND held;

-- name: drop_empty_holds
-- Holds with nothing left.
DELETE FROM rate_spends WHERE held AND events <= 0;

-- name: save_account
-- Store what X's answers told us about the account.
INSERT INTO rate_accounts (
    account_id, events_limit, blocked_until, cap_events, cap_until, cap_since
)
VALUES (%(account_id)s, %(events_limit)s, %(blocked_until)s, %(cap_events)s, %(cap_until)s, %(cap_since)s)
ON CONFLICT (account_id) DO UPDATE SET
    events_limit = excluded.events_limit,
    blocked_until = excluded.blocked_until,
    cap_events = excluded.cap_events,
    cap_until = excluded.cap_until,
    cap_since = excluded.cap_since;
