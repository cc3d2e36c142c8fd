-- Rollups for filtered analytics (issue 5): a latency query filtered by
-- category and a funnel filtered by category or by channel.
--
-- latency_* (0004) is split by channel only and funnel_* not at all, so such a
-- query read raw events (a 90-day category funnel: ~95 ms). These tables are
-- split by category and/or channel at the day level only (a 30-day level or a
-- stored category x channel funnel table measured as too costly to ingest:
-- each stored table adds a part write and merges per insert); each is ordered
-- by its filter columns first, so a filtered query reads only its slice. The
-- partial days at a window's edges are read from raw events (ordered by date,
-- event, category, channel: the slice is read, not the day). A funnel filtered
-- by category and channel reads raw events (1/40 of them).
--
-- Ingest cost: two views on `events` (one row per day x event x category x
-- channel [x latency bucket] per inserted block), two on the second one's
-- output blocks (a Null table: nothing stored). Run with the ingester stopped,
-- as `hub migrate` and `hub serve` (before its ingester starts) do: the
-- backfill reads the events already stored (FINAL: a duplicate waiting for its
-- merge is counted once).
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

-- Distinct notifications (exact: roaring bitmaps) per day x funnel event, split
-- by category (funnel_category_daily) and by channel (funnel_channel_daily).
-- Reading a bitmap has a fixed cost (~30 us) whatever its size, so a filter on
-- one column reads the table split by that column only (4 rows a day), ordered
-- by it first: the slice is contiguous, no granule holds another slice's
-- bitmaps. Both are fed from one view on `events` (per day x event x category
-- x channel) through funnel_split_block, a Null table: the ids are put in
-- bitmaps once, then merged.
CREATE TABLE IF NOT EXISTS funnel_split_block
(
    day           DateTime('UTC'),
    event         LowCardinality(String),
    category      LowCardinality(String),
    channel       LowCardinality(String),
    notifications AggregateFunction(groupBitmap, UInt64)
)
ENGINE = Null;

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

CREATE MATERIALIZED VIEW IF NOT EXISTS funnel_split_block_mv TO funnel_split_block AS
SELECT
    toStartOfDay(event_time) AS day,
    event,
    category,
    channel,
    groupBitmapState(notification_id) AS notifications
FROM events
WHERE event IN ('created', 'delivered', 'read', 'clicked')
GROUP BY day, event, category, channel;

CREATE MATERIALIZED VIEW IF NOT EXISTS funnel_category_daily_mv TO funnel_category_daily AS
SELECT day, event, category, groupBitmapMergeState(notifications) AS notifications
FROM funnel_split_block
GROUP BY day, event, category;

CREATE MATERIALIZED VIEW IF NOT EXISTS funnel_channel_daily_mv TO funnel_channel_daily AS
SELECT day, event, channel, groupBitmapMergeState(notifications) AS notifications
FROM funnel_split_block
GROUP BY day, event, channel;

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

INSERT INTO funnel_split_block
SELECT
    toStartOfDay(event_time) AS day,
    event,
    category,
    channel,
    groupBitmapState(notification_id) AS notifications
FROM events FINAL
WHERE event IN ('created', 'delivered', 'read', 'clicked')
GROUP BY day, event, category, channel;
