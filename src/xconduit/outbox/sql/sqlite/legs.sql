-- name: note_legs_bulk
-- The conversion ids of the JSON array :rows ([key, destination, from the tag: 1 or 0]), each
-- seen on a leg at :now; the first time of each leg is kept.
INSERT INTO conversion_legs (key, destination, pixel_at, server_at, first_at)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
    CASE WHEN json_extract(value, '$[2]') THEN :now END,
    CASE WHEN json_extract(value, '$[2]') THEN NULL ELSE :now END, :now
FROM json_each(:rows) WHERE true
ON CONFLICT (key) DO UPDATE SET
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

-- name: has_pixel_legs
-- Whether the website tag brought any conversion id kept (the partial index answers).
SELECT 1 FROM conversion_legs WHERE pixel_at IS NOT NULL LIMIT 1;

-- name: note_server_of_tagged
-- A sync's row, on the server leg of an id the tag brought (an id no tag brought is not kept).
UPDATE conversion_legs SET server_at = :now WHERE key = :key AND server_at IS NULL;
