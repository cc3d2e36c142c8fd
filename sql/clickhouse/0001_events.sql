-- The raw event stream, one row per outbox event.
-- ReplacingMergeTree keyed on event_id is the second line of defence against
-- duplicates; the first is the ingester's insert_deduplication_token, which
-- drops a re-sent batch before it reaches the rollups (so no query needs FINAL).
-- {ttl_days} is substituted from HUB_ANALYTICS_TTL_DAYS by `hub migrate`.
CREATE TABLE IF NOT EXISTS events
(
    event_id        UUID,
    event_time      DateTime64(3, 'UTC'),
    event           LowCardinality(String),
    notification_id UInt64,
    user_id         String,
    category        LowCardinality(String),
    channel         LowCardinality(String),
    priority        LowCardinality(String),
    latency_ms      Nullable(UInt32),
    error_code      LowCardinality(String),
    api_key_id      LowCardinality(String),
    metadata        String,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (toDate(event_time), event, category, channel, event_time, event_id)
TTL toDateTime(event_time) + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 1000;
