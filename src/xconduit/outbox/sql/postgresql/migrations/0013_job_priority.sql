-- Delivery by priority when an account's backlog outgrows its rate budget: each job keeps a
-- small priority (0 first, 9 last) and its conversion's time (X's `yyyy-MM-ddTHH:mm:ss.SSSZ`,
-- which sorts as text), so a claim takes the most urgent, freshest conversions first
-- (xconduit.config.priority). Jobs from before 0013 take the default priority (4) and no
-- time (''): after the dated jobs of their priority. Constant defaults: no table rewrite.
ALTER TABLE job_state ADD COLUMN priority SMALLINT NOT NULL DEFAULT 4;
ALTER TABLE job_state ADD COLUMN conversion_time TEXT COLLATE "C" NOT NULL DEFAULT '';

-- The claim in priority order, an index scan like the due-order one (job_state_due, still used
-- for the share of each claim that goes to the longest-waiting jobs).
CREATE INDEX job_state_priority ON job_state
    (destination, owner, priority, conversion_time DESC, id)
    WHERE status IN ('pending', 'retry_scheduled', 'in_flight');
