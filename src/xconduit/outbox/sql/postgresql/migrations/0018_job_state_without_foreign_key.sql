-- job_state.id no longer references job_payloads: PostgreSQL checks a foreign key per inserted
-- row with a trigger that locks the payload row it points at (FOR KEY SHARE, which writes that
-- row again), about a third of the database's CPU per collector event. Both rows are written in
-- one statement and deleted in one (purge_dead, purge_delivered delete the state, then the
-- payload), so nothing relied on the check; the cascade it gave is now in those statements.
ALTER TABLE job_state DROP CONSTRAINT IF EXISTS job_state_id_fkey;
