-- Daily rollup per day x event x category x channel, fed from the hourly
-- rollup's inserted blocks (a cascade: cheaper than a second pass over raw
-- events). A 90-day window reads whole days here, whole hours at its edges
-- from events_hourly and the partial hours from raw events.
CREATE TABLE IF NOT EXISTS events_daily
(
    day           DateTime('UTC'),
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
PARTITION BY toYYYYMM(day)
ORDER BY (day, event, category, channel)
TTL day + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS events_daily_mv TO events_daily AS
SELECT
    toStartOfDay(hour) AS day,
    event,
    category,
    channel,
    sum(events) AS events,
    groupBitmapMergeState(notifications) AS notifications,
    uniqMergeState(users) AS users,
    sum(latency_sum) AS latency_sum,
    sum(latency_count) AS latency_count,
    quantilesTDigestMergeState(0.5, 0.9, 0.95, 0.99)(latency) AS latency
FROM events_hourly
GROUP BY day, event, category, channel;
