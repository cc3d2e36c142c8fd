-- The durable delivery queue: one row per notification x channel (in_app has
-- no row: the notification itself is the in-app delivery), plus digest emails,
-- digest claims and the email suppression list. Times are epoch ms (UTC).

CREATE TABLE deliveries (
    id                 BIGSERIAL PRIMARY KEY,
    notification_id    BIGINT,                 -- NULL for a digest email
    user_id            TEXT NOT NULL,
    channel            TEXT NOT NULL,          -- email | push | sms | webhook | chat
    status             TEXT NOT NULL,          -- pending | sending | sent | delivered | failed
                                               -- | bounced | suppressed | deferred
    category           TEXT NOT NULL,
    priority           TEXT NOT NULL DEFAULT 'normal',
    address            TEXT,                   -- email, phone, webhook URL, Apprise URL; NULL for push
    extra              TEXT,                   -- JSON: template, digest items, ...
    reason             TEXT,                   -- routing reason (quiet_hours, digest_daily, ...)
    attempts           INTEGER NOT NULL DEFAULT 0,
    -- when the row is next due; while 'sending' it is the lease expiry, after
    -- which another worker may claim it again (at-least-once)
    next_attempt_at    BIGINT NOT NULL,
    last_error         TEXT,
    error_code         TEXT,
    digest_period      TEXT,                   -- daily | weekly: waits for a digest email
    digest_delivery_id BIGINT,                 -- the digest email that carried this row
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    sent_at            BIGINT
);
CREATE UNIQUE INDEX deliveries_notification_channel ON deliveries (notification_id, channel);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
    WHERE status IN ('pending', 'deferred', 'sending') AND digest_period IS NULL;
CREATE INDEX deliveries_digest_due ON deliveries (next_attempt_at)
    WHERE status = 'deferred' AND digest_period IS NOT NULL AND digest_delivery_id IS NULL;
CREATE INDEX deliveries_digest_items ON deliveries (digest_delivery_id)
    WHERE digest_delivery_id IS NOT NULL;
CREATE INDEX deliveries_status ON deliveries (status, id);
CREATE INDEX deliveries_user ON deliveries (user_id);

-- One row per user x digest period x due time: inserting it is the claim that
-- makes a digest go out exactly once whatever the number of workers.
CREATE TABLE digests (
    user_id     TEXT NOT NULL,
    period      TEXT NOT NULL,                 -- daily | weekly
    due_at      BIGINT NOT NULL,
    delivery_id BIGINT,
    item_count  INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, period, due_at)
);

-- Addresses that bounced (SMTP 5xx or the bounce webhook): never emailed again.
CREATE TABLE email_suppressions (
    address    TEXT PRIMARY KEY,               -- lower-cased
    reason     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
