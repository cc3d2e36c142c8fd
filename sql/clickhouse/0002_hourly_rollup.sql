-- Hourly rollup per hour x event x category x channel, fed by a materialized
-- view. Long windows read this (about 1/100 of the raw rows); the partial hours
-- at the edges of a window are read from raw events (see analytics/queries.py).
-- Latency is a t-digest state: merging plain quantile states over 30 days
-- drifted by up to 6 %.
CREATE TABLE IF NOT EXISTS events_hourly
(
    hour          DateTime('UTC'),
    event         LowCardinality(String),
    category      LowCardinality(String),
    channel       LowCardinality(String),
    events        SimpleAggregateFunction(sum, UInt64),
    notifications AggregateFunction(groupBitmap, UInt64),
    users         AggregateFunction(uniq, String),
    latency_sum   SimpleAggregateFunction(sum, UInt64),
    latency_count SimpleAggregateFunction(sum, UInt64),
    latency       AggregateFunction(quantilesTDigest(0.5, 0.9, 0.95, 0.99), UInt32)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, event, category, channel)
TTL hour + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS events_hourly_mv TO events_hourly AS
SELECT
    toStartOfHour(event_time) AS hour,
    event,
    category,
    channel,
    count() AS events,
    groupBitmapState(notification_id) AS notifications,
    uniqState(user_id) AS users,
    sum(ifNull(latency_ms, 0)) AS latency_sum,
    countIf(latency_ms IS NOT NULL) AS latency_count,
    quantilesTDigestStateIf(0.5, 0.9, 0.95, 0.99)(assumeNotNull(latency_ms), latency_ms IS NOT NULL) AS latency
FROM events
GROUP BY hour, event, category, channel;
