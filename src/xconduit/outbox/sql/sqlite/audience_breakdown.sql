-- name: members_by_identifier
-- Per identifier type (email, phone_number, handle, …), the members X accepted holding one.
SELECT id_key, count(DISTINCT user_key) FROM audience_member_ids
WHERE audience = :audience GROUP BY id_key;

-- name: pending_by_op
-- The audience's changes waiting for a flush, per operation (add, remove).
SELECT op, count(*) FROM audience_changes WHERE audience = :audience GROUP BY op;
