-- What each delivering process reports with its heartbeat: its failed setup checks, paused
-- accounts and last check table (JSON; plain text, never PII or secrets), so that every process
-- on the store shows the fleet's alarm. NULL: a process of an older xconduit (nothing reported).
-- Numbered 0007: 0006 belongs to another branch (a gap is allowed, see queue/sql/__init__.py).
ALTER TABLE worker_heartbeats ADD COLUMN report TEXT;
