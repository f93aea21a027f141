-- name: add_count_hours
-- Add to charted counters' amounts of one hour; one row per counter.
INSERT INTO counter_hours (hour, name, labels, value)
SELECT %(hour)s, * FROM unnest(%(names)b::text[], %(labels)b::text[], %(values)b::float8[])
ON CONFLICT (hour, name, labels) DO UPDATE SET value = counter_hours.value + excluded.value;

-- name: counter_hours
-- Hourly amounts from :hour on.
SELECT hour, name, labels, value FROM counter_hours WHERE hour >= %(hour)s
ORDER BY hour, name, labels;

-- name: purge_counter_hours
-- Forget hourly amounts before :hour.
DELETE FROM counter_hours WHERE hour < %(hour)s;
