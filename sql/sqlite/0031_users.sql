-- User profiles kept current by the producer (PUT /api/users/{id}) plus the
-- user's own email settings. Times are epoch ms (UTC).

CREATE TABLE user_profiles (
    user_id       TEXT PRIMARY KEY,
    email         TEXT,
    phone         TEXT,                        -- E.164
    timezone      TEXT,                        -- IANA name; NULL means UTC
    locale        TEXT,
    webhook_url   TEXT,
    chat_url      TEXT,                        -- Apprise URL
    email_opt_out INTEGER NOT NULL DEFAULT 0,
    digest_hour   INTEGER,                     -- local hour for digests; NULL: HUB_DIGEST_HOUR
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX user_profiles_email ON user_profiles (lower(email));
