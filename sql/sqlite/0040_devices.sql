-- Push devices: one row per device token (a token belongs to one user at a time).
-- Times are epoch milliseconds (UTC).

CREATE TABLE devices (
    token      TEXT PRIMARY KEY,            -- APNs device token or FCM registration token
    user_id    TEXT NOT NULL,
    platform   TEXT NOT NULL,               -- ios | android | web
    app        TEXT,                        -- optional app id (APNs topic override)
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX devices_user_id ON devices (user_id);
