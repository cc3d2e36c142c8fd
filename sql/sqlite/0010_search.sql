-- Notification center: full-text search and the indexes behind every center query.
--
-- Search: an FTS5 external-content table over title and body, kept in sync by
-- triggers; prefix indexes for 2- and 3-letter autocomplete; ranked with bm25.
CREATE VIRTUAL TABLE notifications_fts USING fts5(
    title, body,
    content='notifications', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2',
    prefix='2 3'
);

CREATE TRIGGER notifications_fts_insert AFTER INSERT ON notifications BEGIN
    INSERT INTO notifications_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;

CREATE TRIGGER notifications_fts_delete AFTER DELETE ON notifications BEGIN
    INSERT INTO notifications_fts (notifications_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
END;

CREATE TRIGGER notifications_fts_update AFTER UPDATE OF title, body ON notifications BEGIN
    INSERT INTO notifications_fts (notifications_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO notifications_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;

INSERT INTO notifications_fts (notifications_fts) VALUES ('rebuild');

-- Same center indexes as on Postgres (SQLite has no INCLUDE: trailing columns
-- make them covering).
CREATE INDEX notifications_user_state ON notifications
    (user_id, archived, is_read, id DESC, category, created_at);
CREATE INDEX notifications_user_archived ON notifications (user_id, archived, id);
DROP INDEX notifications_user_unread;
