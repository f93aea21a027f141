-- Delivery by priority when an account's backlog outgrows its rate budget: each job keeps a
-- small priority (0 first, 9 last) and its conversion's time (X's `yyyy-MM-ddTHH:mm:ss.SSSZ`,
-- which sorts as text), so a claim takes the most urgent, freshest conversions first
-- (xconduit.config.priority). Jobs from before 0013 take the default priority (4) and no
-- time (''): after the dated jobs of their priority. Constant defaults: no table rewrite.
ALTER TABLE delivery_jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 4;
ALTER TABLE delivery_jobs ADD COLUMN conversion_time TEXT NOT NULL DEFAULT '';

-- The claim in priority order, an index scan like the due-order one (delivery_jobs_due, still
-- used for the share of each claim that goes to the longest-waiting jobs). No `id` column: the
-- rowid ends every SQLite index key, so ties already go in id order (and each new job writes
-- one index entry the fewer bytes: the collector's commit pays for this index).
CREATE INDEX delivery_jobs_priority ON delivery_jobs
    (destination, owner, priority, conversion_time DESC)
    WHERE status IN ('pending', 'retry_scheduled', 'in_flight');
