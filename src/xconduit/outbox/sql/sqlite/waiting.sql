-- name: waiting_by_priority
-- Jobs not delivered yet per destination, owner and priority (the partial priority index).
SELECT destination, owner, priority, count(*) FROM delivery_jobs
WHERE status IN ('pending', 'retry_scheduled', 'in_flight')
GROUP BY destination, owner, priority;
