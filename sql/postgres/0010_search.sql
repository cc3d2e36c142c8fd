-- Notification center: full-text search and the indexes behind every center query.
--
-- Search: a stored tsvector over title (weight A) and body (weight B) with the
-- 'simple' configuration (no stemming, so prefix queries 'ord':* behave the same
-- in every language) and a GIN index; ranked with ts_rank.
ALTER TABLE notifications ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', body), 'B')
) STORED;
CREATE INDEX notifications_search ON notifications USING GIN (search);

-- The center's main index: the default view (not archived) filtered by read state
-- in "unread first" order (is_read, id DESC) and, being covering, the totals,
-- per-category counts and the unread count as index-only scans that read only
-- the matching entries (the unread count touches only unread rows).
CREATE INDEX notifications_user_state ON notifications
    (user_id, archived, is_read, id DESC) INCLUDE (category, created_at);

-- Newest/oldest listing of archived or not-archived rows in id order, keyset-paginated.
CREATE INDEX notifications_user_archived ON notifications (user_id, archived, id);

-- The state index answers the unread count on its own; one index less to write.
DROP INDEX notifications_user_unread;
