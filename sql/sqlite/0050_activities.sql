-- The activity feed: what happened on a user's account (logins, payments, settings, ...).
-- Times are epoch milliseconds (UTC).

CREATE TABLE activities (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         TEXT NOT NULL,
    activity_type   TEXT NOT NULL,
    resource_type   TEXT,
    resource_id     TEXT,
    action          TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'completed',
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    metadata        TEXT,                   -- JSON
    ip_address      TEXT,
    user_agent      TEXT,
    created_at      BIGINT NOT NULL,
    api_key_id      TEXT,                   -- producer that posted it; NULL for the hub's own
    idempotency_key TEXT                    -- as sent by the producer (dedup itself: idempotency_keys)
);
-- The feed is always one user's, newest first: every index leads with user_id and
-- ends with (created_at, id), the keyset-pagination order, so each filter is a range scan.
CREATE INDEX activities_user_time ON activities (user_id, created_at DESC, id DESC);
CREATE INDEX activities_user_type ON activities (user_id, activity_type, created_at DESC, id DESC);
CREATE INDEX activities_user_resource
    ON activities (user_id, resource_type, resource_id, created_at DESC, id DESC);
CREATE INDEX activities_user_status ON activities (user_id, status, created_at DESC, id DESC);

-- Text search (q) is LIKE '%word%' on title + description after the user_id index has
-- narrowed the rows to one user's feed (thousands, not millions): a scan of that is
-- sub-millisecond, whereas FTS5 would add a shadow table, triggers and token (not
-- substring) semantics that differ from Postgres.
