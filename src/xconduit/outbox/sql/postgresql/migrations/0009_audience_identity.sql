-- Custom audiences follow X's rules on deletion and expiry. X deletes a member by any key it
-- was added with, so a removal must not send a value another member still holds: each member's
-- (key, value) pairs are indexed. X forgets a member 13 months after the request that added it,
-- so each member's last send is kept (NULL: before this version, re-sent by the next run). A
-- snapshot refused before sending (it would shrink the audience too much) is kept as the
-- audience's problem until a comparison goes through.
-- Numbered 0009: 0008 belongs to another branch (a gap is allowed, see queue/sql/__init__.py).
ALTER TABLE audiences ADD COLUMN problem TEXT;

ALTER TABLE audience_members ADD COLUMN sent_at DOUBLE PRECISION;

CREATE INDEX audience_members_sent ON audience_members (audience, sent_at);

CREATE TABLE audience_member_ids (
    audience TEXT NOT NULL,
    id_key   TEXT NOT NULL,
    id_value TEXT NOT NULL,
    user_key TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (audience, id_key, id_value, user_key)
);

INSERT INTO audience_member_ids (audience, id_key, id_value, user_key)
SELECT DISTINCT m.audience, k.key, v.value, m.user_key
FROM audience_members AS m,
    jsonb_each(convert_from(m.payload, 'UTF8')::jsonb) AS k,
    jsonb_array_elements_text(k.value) AS v;
