-- status carried in the type index makes the per-user summary (GROUP BY type, status over
-- created_at windows) a covering-index scan. (SQLite has no INCLUDE: a trailing column.)
DROP INDEX IF EXISTS activities_user_type;
CREATE INDEX activities_user_type
    ON activities (user_id, activity_type, created_at DESC, id DESC, status);
