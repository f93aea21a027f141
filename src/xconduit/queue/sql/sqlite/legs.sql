-- name: note_leg
-- One conversion id seen on a leg; the first time of each leg is kept.
INSERT INTO conversion_legs (destination, key, pixel_at, server_at, first_at)
VALUES (:destination, :key, :pixel_at, :server_at, :now)
ON CONFLICT (destination, key) DO UPDATE SET
    pixel_at = coalesce(conversion_legs.pixel_at, excluded.pixel_at),
    server_at = coalesce(conversion_legs.server_at, excluded.server_at);

-- name: leg_shares
-- Per destination, the conversion ids first seen since :since: on both legs, pixel only,
-- server only.
SELECT destination,
       sum(CASE WHEN pixel_at IS NOT NULL AND server_at IS NOT NULL THEN 1 ELSE 0 END),
       sum(CASE WHEN server_at IS NULL THEN 1 ELSE 0 END),
       sum(CASE WHEN pixel_at IS NULL THEN 1 ELSE 0 END)
FROM conversion_legs WHERE first_at >= :since GROUP BY destination ORDER BY destination;

-- name: purge_legs
-- Forget the ids first seen before :since (48 h ago).
DELETE FROM conversion_legs WHERE first_at < :since;
