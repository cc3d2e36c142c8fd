-- Analytics ingestion, cheaper on SQLite (see analytics/ingest.py):
-- 1. No UNIQUE index on outbox.event_id: nothing looks rows up by it, and
--    maintaining it on random UUIDs was most of the cost of pruning a batch.
--    ClickHouse drops a re-sent batch by its dedup token, and its events table
--    (a ReplacingMergeTree on event_id) is the second line of defence.
--    SQLite cannot drop a column constraint, so the table is rebuilt; the
--    AUTOINCREMENT counter is carried over, since ids (and so batch ids and
--    dedup tokens) must never be handed out twice.
-- 2. A batch is an id range recorded in outbox_batches instead of a batch_id
--    stamped on every row: SQLite has one writer at a time, so rows become
--    visible in id order and a range never misses a late commit. batch_id and
--    its partial index stay for batches stamped before this migration.
CREATE TABLE outbox_rebuilt (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT NOT NULL,
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
    metadata        TEXT,                   -- JSON
    batch_id        BIGINT
);
INSERT INTO outbox_rebuilt (id, event_id, event_time, event, notification_id, user_id, category,
    channel, priority, latency_ms, error_code, api_key_id, metadata, batch_id)
SELECT id, event_id, event_time, event, notification_id, user_id, category, channel, priority,
    latency_ms, error_code, api_key_id, metadata, batch_id FROM outbox ORDER BY id;
DELETE FROM sqlite_sequence WHERE name = 'outbox_rebuilt';
INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox_rebuilt', seq FROM sqlite_sequence WHERE name = 'outbox';
DROP TABLE outbox;
ALTER TABLE outbox_rebuilt RENAME TO outbox;
CREATE INDEX outbox_batch ON outbox (batch_id) WHERE batch_id IS NOT NULL;

CREATE TABLE outbox_batches (
    batch_id INTEGER PRIMARY KEY,           -- the range's last outbox id (and its token)
    first_id INTEGER NOT NULL               -- the range's first outbox id
);
