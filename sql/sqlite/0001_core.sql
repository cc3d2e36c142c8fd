-- Core tables: API keys, notifications, the analytics outbox, idempotency keys.
-- Times are epoch milliseconds (UTC).

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,          -- public part of the key, e.g. k_3f9a1c2b
    name         TEXT NOT NULL,
    key_hash     TEXT NOT NULL,             -- sha256 of the whole key
    scopes       TEXT NOT NULL,             -- comma-separated
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT NOT NULL,
    category    TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL DEFAULT '',
    link        TEXT,
    data        TEXT,                       -- JSON
    priority    TEXT NOT NULL DEFAULT 'normal',
    is_read     INTEGER NOT NULL DEFAULT 0,
    read_at     BIGINT,
    archived    INTEGER NOT NULL DEFAULT 0,
    archived_at BIGINT,
    clicked_at  BIGINT,
    created_at  BIGINT NOT NULL,
    api_key_id  TEXT
);
CREATE INDEX notifications_user_id ON notifications (user_id, id);
CREATE INDEX notifications_user_category ON notifications (user_id, category, id);
CREATE INDEX notifications_user_unread ON notifications (user_id, category)
    WHERE NOT is_read AND NOT archived;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT NOT NULL UNIQUE,
    event_time      BIGINT NOT NULL,
    event           TEXT NOT NULL,
    notification_id BIGINT,
    user_id         TEXT,
    category        TEXT,
    channel         TEXT,
    priority        TEXT,
    latency_ms      INTEGER,
    error_code      TEXT,
    api_key_id      TEXT,
    metadata        TEXT                    -- JSON
);

CREATE TABLE idempotency_keys (
    api_key_id TEXT NOT NULL,
    scope      TEXT NOT NULL,               -- what the key guards: notifications, activities
    key        TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    result     TEXT,                        -- JSON of what the first request produced
    PRIMARY KEY (api_key_id, scope, key)
);
