-- name: add_count_hour
-- Add to a charted counter's amount of one hour.
INSERT INTO counter_hours (hour, name, labels, value) VALUES (:hour, :name, :labels, :value)
ON CONFLICT (hour, name, labels) DO UPDATE SET value = value + excluded.value;

-- name: counter_hours
-- Hourly amounts from :hour on.
SELECT hour, name, labels, value FROM counter_hours WHERE hour >= :hour
ORDER BY hour, name, labels;

-- name: purge_counter_hours
-- Forget hourly amounts before :hour.
DELETE FROM counter_hours WHERE hour < :hour;
