-- Preferences per user and category ('*' is the user's own default for every
-- category) and the admin's defaults per category ('*' for all).

CREATE TABLE notification_preferences (
    user_id           TEXT NOT NULL,
    category          TEXT NOT NULL,
    enabled           INTEGER NOT NULL DEFAULT 1,
    delivery_methods  TEXT NOT NULL,           -- comma-separated channels
    quiet_hours_start TEXT,                    -- HH:MM local time
    quiet_hours_end   TEXT,
    frequency         TEXT NOT NULL DEFAULT 'instant',  -- instant | daily | weekly | never
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (user_id, category)
);

CREATE TABLE preference_defaults (
    category          TEXT PRIMARY KEY,
    enabled           INTEGER NOT NULL DEFAULT 1,
    delivery_methods  TEXT NOT NULL,
    quiet_hours_start TEXT,
    quiet_hours_end   TEXT,
    frequency         TEXT NOT NULL DEFAULT 'instant',
    critical          INTEGER NOT NULL DEFAULT 0,  -- skips quiet hours and digests
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
