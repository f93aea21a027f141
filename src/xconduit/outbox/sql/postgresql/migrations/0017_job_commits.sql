-- The live debugger finds a conversion's job through the commit that inserted it, not through an
-- index on (destination, message_id): with random message ids (what Segment's libraries send)
-- every insert into that index landed on another page. One row per collector commit: the ids of
-- the jobs it inserted (a fleet's commits can interleave ids, so a range may hold others' jobs
-- too). A recent event's received_at is its commit's `at`.
CREATE TABLE job_commits (
    at       DOUBLE PRECISION NOT NULL,
    first_id BIGINT NOT NULL,
    last_id  BIGINT NOT NULL,
    PRIMARY KEY (at, first_id)
);

-- The recent events kept from before find their jobs through the index one last time, one row
-- per job found. A row whose results cannot be read (jsonb refuses \u0000, which a product's
-- name may hold) links nothing: the debugger shows its conversions as purged, as it would have.
DO $$
DECLARE
    r RECORD;
BEGIN
    FOR r IN SELECT received_at, message_id, results FROM recent_events LOOP
        BEGIN
            INSERT INTO job_commits (at, first_id, last_id)
            SELECT r.received_at, found.id, found.id FROM (
                SELECT (
                    SELECT max(p.id) FROM job_payloads AS p
                    WHERE p.destination = x.value ->> 'destination'
                      AND p.message_id = r.message_id
                ) AS id
                FROM jsonb_array_elements(convert_from(r.results, 'UTF8')::jsonb) AS x (value)
                WHERE jsonb_typeof(x.value) = 'object' AND x.value ->> 'outcome' = 'conversion'
            ) AS found
            WHERE found.id IS NOT NULL
            ON CONFLICT DO NOTHING;
        EXCEPTION WHEN data_exception THEN
            NULL;
        END;
    END LOOP;
END
$$;

DROP INDEX job_payloads_message;
