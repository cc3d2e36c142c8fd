-- Rollups for filtered analytics (issue 5): a latency query filtered by
-- category and a funnel filtered by category or channel.
--
-- latency_* (0004) is split by channel only and funnel_* not at all, so such a
-- query read raw events (a 90-day category funnel: ~95 ms). These tables are
-- split by category and/or channel, but only at the coarse levels (day and
-- 30-day period), where the extra rows are few; each is ordered by its filter
-- columns first, so a filtered query reads only its slice. The partial days at
-- a window's edges are read from raw events (ordered by date, event, category,
-- channel: the slice is read, not the day).
--
-- Ingest cost: two views on `events` (one row per day x event x category x
-- channel [x latency bucket] per inserted block), the others on their small
-- output blocks. Run with the ingester stopped, as `hub migrate` and
-- `hub serve` (before its ingester starts) do: the backfill reads the events
-- already stored (FINAL: a duplicate waiting for its merge is counted once).
CREATE TABLE IF NOT EXISTS latency_split_daily
(
    day      DateTime('UTC'),
    event    LowCardinality(String),
    category LowCardinality(String),
    channel  LowCardinality(String),
    bucket   UInt16,
    n        SimpleAggregateFunction(sum, UInt64),
    total    SimpleAggregateFunction(sum, UInt64),
    lo       SimpleAggregateFunction(min, UInt32),
    hi       SimpleAggregateFunction(max, UInt32)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (category, event, day, channel, bucket)
TTL day + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 1024;

CREATE TABLE IF NOT EXISTS latency_split_30d
(
    period   DateTime('UTC'),
    event    LowCardinality(String),
    category LowCardinality(String),
    channel  LowCardinality(String),
    bucket   UInt16,
    n        SimpleAggregateFunction(sum, UInt64),
    total    SimpleAggregateFunction(sum, UInt64),
    lo       SimpleAggregateFunction(min, UInt32),
    hi       SimpleAggregateFunction(max, UInt32)
)
ENGINE = AggregatingMergeTree
ORDER BY (category, event, period, channel, bucket)
TTL addDays(period, 30) + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 1024;

CREATE MATERIALIZED VIEW IF NOT EXISTS latency_split_daily_mv TO latency_split_daily AS
SELECT
    toStartOfDay(event_time) AS day,
    event,
    category,
    channel,
    multiIf(assumeNotNull(latency_ms) < 64, toUInt16(assumeNotNull(latency_ms)), toUInt16(64 + floor(log(assumeNotNull(latency_ms) / 64) / log(1.02)))) AS bucket,
    count() AS n,
    sum(assumeNotNull(latency_ms)) AS total,
    min(assumeNotNull(latency_ms)) AS lo,
    max(assumeNotNull(latency_ms)) AS hi
FROM events
WHERE latency_ms IS NOT NULL
GROUP BY day, event, category, channel, bucket;

CREATE MATERIALIZED VIEW IF NOT EXISTS latency_split_30d_mv TO latency_split_30d AS
SELECT
    toDateTime(intDiv(toUInt32(day), 2592000) * 2592000, 'UTC') AS period,
    event,
    category,
    channel,
    bucket,
    sum(n) AS n,
    sum(total) AS total,
    min(lo) AS lo,
    max(hi) AS hi
FROM latency_split_daily
GROUP BY period, event, category, channel, bucket;

-- Distinct notifications (exact: roaring bitmaps) per day x funnel event, split
-- three ways: by category x channel (funnel_split_*), by category
-- (funnel_category_*) and by channel (funnel_channel_*). Reading a bitmap has a
-- fixed cost (~30 us) whatever its size, so a filter on one column reads the
-- table split by that column only (4 rows a day, not 20 or 32), and each table
-- is ordered by its filter columns first: the slice is contiguous, no granule
-- holds another slice's bitmaps. Only funnel_split_daily is fed from `events`;
-- the others from its output blocks (a few hundred rows per insert).
CREATE TABLE IF NOT EXISTS funnel_split_daily
(
    day           DateTime('UTC'),
    event         LowCardinality(String),
    category      LowCardinality(String),
    channel       LowCardinality(String),
    notifications AggregateFunction(groupBitmap, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (category, channel, day, event)
TTL day + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 8;

CREATE TABLE IF NOT EXISTS funnel_split_30d
(
    period        DateTime('UTC'),
    event         LowCardinality(String),
    category      LowCardinality(String),
    channel       LowCardinality(String),
    notifications AggregateFunction(groupBitmap, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (category, channel, period, event)
TTL addDays(period, 30) + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 8;

CREATE TABLE IF NOT EXISTS funnel_category_daily
(
    day           DateTime('UTC'),
    event         LowCardinality(String),
    category      LowCardinality(String),
    notifications AggregateFunction(groupBitmap, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (category, day, event)
TTL day + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 8;

CREATE TABLE IF NOT EXISTS funnel_category_30d
(
    period        DateTime('UTC'),
    event         LowCardinality(String),
    category      LowCardinality(String),
    notifications AggregateFunction(groupBitmap, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (category, period, event)
TTL addDays(period, 30) + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 8;

CREATE TABLE IF NOT EXISTS funnel_channel_daily
(
    day           DateTime('UTC'),
    event         LowCardinality(String),
    channel       LowCardinality(String),
    notifications AggregateFunction(groupBitmap, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (channel, day, event)
TTL day + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 8;

CREATE TABLE IF NOT EXISTS funnel_channel_30d
(
    period        DateTime('UTC'),
    event         LowCardinality(String),
    channel       LowCardinality(String),
    notifications AggregateFunction(groupBitmap, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (channel, period, event)
TTL addDays(period, 30) + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 8;

CREATE MATERIALIZED VIEW IF NOT EXISTS funnel_split_daily_mv TO funnel_split_daily AS
SELECT
    toStartOfDay(event_time) AS day,
    event,
    category,
    channel,
    groupBitmapState(notification_id) AS notifications
FROM events
WHERE event IN ('created', 'delivered', 'read', 'clicked')
GROUP BY day, event, category, channel;

CREATE MATERIALIZED VIEW IF NOT EXISTS funnel_split_30d_mv TO funnel_split_30d AS
SELECT
    toDateTime(intDiv(toUInt32(day), 2592000) * 2592000, 'UTC') AS period,
    event,
    category,
    channel,
    groupBitmapMergeState(notifications) AS notifications
FROM funnel_split_daily
GROUP BY period, event, category, channel;

CREATE MATERIALIZED VIEW IF NOT EXISTS funnel_category_daily_mv TO funnel_category_daily AS
SELECT day, event, category, groupBitmapMergeState(notifications) AS notifications
FROM funnel_split_daily
GROUP BY day, event, category;

CREATE MATERIALIZED VIEW IF NOT EXISTS funnel_category_30d_mv TO funnel_category_30d AS
SELECT
    toDateTime(intDiv(toUInt32(day), 2592000) * 2592000, 'UTC') AS period,
    event,
    category,
    groupBitmapMergeState(notifications) AS notifications
FROM funnel_category_daily
GROUP BY period, event, category;

CREATE MATERIALIZED VIEW IF NOT EXISTS funnel_channel_daily_mv TO funnel_channel_daily AS
SELECT day, event, channel, groupBitmapMergeState(notifications) AS notifications
FROM funnel_split_daily
GROUP BY day, event, channel;

CREATE MATERIALIZED VIEW IF NOT EXISTS funnel_channel_30d_mv TO funnel_channel_30d AS
SELECT
    toDateTime(intDiv(toUInt32(day), 2592000) * 2592000, 'UTC') AS period,
    event,
    channel,
    groupBitmapMergeState(notifications) AS notifications
FROM funnel_channel_daily
GROUP BY period, event, channel;

-- Backfill (the other tables fill through their views).
INSERT INTO latency_split_daily
SELECT
    toStartOfDay(event_time) AS day,
    event,
    category,
    channel,
    multiIf(assumeNotNull(latency_ms) < 64, toUInt16(assumeNotNull(latency_ms)), toUInt16(64 + floor(log(assumeNotNull(latency_ms) / 64) / log(1.02)))) AS bucket,
    count() AS n,
    sum(assumeNotNull(latency_ms)) AS total,
    min(assumeNotNull(latency_ms)) AS lo,
    max(assumeNotNull(latency_ms)) AS hi
FROM events FINAL
WHERE latency_ms IS NOT NULL
GROUP BY day, event, category, channel, bucket;

INSERT INTO funnel_split_daily
SELECT
    toStartOfDay(event_time) AS day,
    event,
    category,
    channel,
    groupBitmapState(notification_id) AS notifications
FROM events FINAL
WHERE event IN ('created', 'delivered', 'read', 'clicked')
GROUP BY day, event, category, channel;
