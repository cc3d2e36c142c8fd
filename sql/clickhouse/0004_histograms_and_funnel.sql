-- Cheaper rollups (issue 5): the count rollups keep only plain sums; latency
-- percentiles come from log-scale histograms and the funnel's distinct
-- notifications from one bitmap per period x funnel event.
--
-- Before: every events_hourly/events_daily row (period x event x category x
-- channel) carried a t-digest, a uniq(user_id) and a groupBitmap of
-- notification ids. Merging t-digests cost 110-150 ms of CPU per 90-day query
-- and the bitmaps, split 40 ways by category x channel, were tiny (a few ids
-- per roaring container) so merging them cost as much as the raw scan (~800 ms
-- at 10M events). Nothing read uniq(user_id).
--
-- An existing store upgrades in place: the views are recreated, the unused
-- columns dropped and the new rollups backfilled from raw events (FINAL: a
-- duplicate still waiting for its merge is counted once). Run it with the
-- ingester stopped, as `hub migrate` and `hub serve` (before its ingester starts) do.
DROP VIEW IF EXISTS events_daily_mv;
DROP VIEW IF EXISTS events_hourly_mv;

ALTER TABLE events_hourly DROP COLUMN IF EXISTS notifications, DROP COLUMN IF EXISTS users, DROP COLUMN IF EXISTS latency;
ALTER TABLE events_daily DROP COLUMN IF EXISTS notifications, DROP COLUMN IF EXISTS users, DROP COLUMN IF EXISTS latency;

CREATE MATERIALIZED VIEW IF NOT EXISTS events_hourly_mv TO events_hourly AS
SELECT
    toStartOfHour(event_time) AS hour,
    event,
    category,
    channel,
    count() AS events,
    sum(ifNull(latency_ms, 0)) AS latency_sum,
    countIf(latency_ms IS NOT NULL) AS latency_count
FROM events
GROUP BY hour, event, category, channel;

CREATE MATERIALIZED VIEW IF NOT EXISTS events_daily_mv TO events_daily AS
SELECT
    toStartOfDay(hour) AS day,
    event,
    category,
    channel,
    sum(events) AS events,
    sum(latency_sum) AS latency_sum,
    sum(latency_count) AS latency_count
FROM events_hourly
GROUP BY day, event, category, channel;

-- Latency histogram per period x event x channel x bucket (not split by
-- category: 8 times fewer rows to merge; a latency query filtered by category
-- reads raw events). Buckets
-- (analytics/queries.py LATENCY_BUCKET, the same expression): one per ms below
-- 64 ms, then log-scale with a ratio of 1.02, so every bucket's values lie
-- within 2 % of each other. Each bucket keeps its count, sum, min and max:
-- counts and sums merge by addition, and a percentile read from the merged
-- histogram is within [min, max] of its bucket (exact when the bucket holds
-- one distinct value), i.e. within 2 % of the exact percentile.
CREATE TABLE IF NOT EXISTS latency_hourly
(
    hour     DateTime('UTC'),
    event    LowCardinality(String),
    channel  LowCardinality(String),
    bucket   UInt16,
    n        SimpleAggregateFunction(sum, UInt64),
    total    SimpleAggregateFunction(sum, UInt64),
    lo       SimpleAggregateFunction(min, UInt32),
    hi       SimpleAggregateFunction(max, UInt32)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, event, channel, bucket)
TTL hour + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 1024;

CREATE TABLE IF NOT EXISTS latency_daily
(
    day      DateTime('UTC'),
    event    LowCardinality(String),
    channel  LowCardinality(String),
    bucket   UInt16,
    n        SimpleAggregateFunction(sum, UInt64),
    total    SimpleAggregateFunction(sum, UInt64),
    lo       SimpleAggregateFunction(min, UInt32),
    hi       SimpleAggregateFunction(max, UInt32)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (day, event, channel, bucket)
TTL day + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 1024;

CREATE MATERIALIZED VIEW IF NOT EXISTS latency_hourly_mv TO latency_hourly AS
SELECT
    toStartOfHour(event_time) AS hour,
    event,
    channel,
    multiIf(assumeNotNull(latency_ms) < 64, toUInt16(assumeNotNull(latency_ms)), toUInt16(64 + floor(log(assumeNotNull(latency_ms) / 64) / log(1.02)))) AS bucket,
    count() AS n,
    sum(assumeNotNull(latency_ms)) AS total,
    min(assumeNotNull(latency_ms)) AS lo,
    max(assumeNotNull(latency_ms)) AS hi
FROM events
WHERE latency_ms IS NOT NULL
GROUP BY hour, event, channel, bucket;

CREATE MATERIALIZED VIEW IF NOT EXISTS latency_daily_mv TO latency_daily AS
SELECT
    toStartOfDay(hour) AS day,
    event,
    channel,
    bucket,
    sum(n) AS n,
    sum(total) AS total,
    min(lo) AS lo,
    max(hi) AS hi
FROM latency_hourly
GROUP BY day, event, channel, bucket;

-- 30-day periods since the epoch (the middle of a long window: fewer rows to
-- merge than 30 daily ones), fed from latency_daily's inserted blocks.
CREATE TABLE IF NOT EXISTS latency_30d
(
    period   DateTime('UTC'),
    event    LowCardinality(String),
    channel  LowCardinality(String),
    bucket   UInt16,
    n        SimpleAggregateFunction(sum, UInt64),
    total    SimpleAggregateFunction(sum, UInt64),
    lo       SimpleAggregateFunction(min, UInt32),
    hi       SimpleAggregateFunction(max, UInt32)
)
ENGINE = AggregatingMergeTree
ORDER BY (period, event, channel, bucket)
TTL addDays(period, 30) + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 1024;

CREATE MATERIALIZED VIEW IF NOT EXISTS latency_30d_mv TO latency_30d AS
SELECT
    toDateTime(intDiv(toUInt32(day), 2592000) * 2592000, 'UTC') AS period,
    event,
    channel,
    bucket,
    sum(n) AS n,
    sum(total) AS total,
    min(lo) AS lo,
    max(hi) AS hi
FROM latency_daily
GROUP BY period, event, channel, bucket;

-- Distinct notifications per period x funnel event (created, delivered, read,
-- clicked), exact: one roaring bitmap per row (a few per granule: a query reads
-- whole granules, and each bitmap costs its size to decode). Not split by category/channel,
-- so a day's bitmap holds every id of that event and merging 90 of them is a
-- few ms; a funnel filtered by category or channel reads raw events.
CREATE TABLE IF NOT EXISTS funnel_hourly
(
    hour          DateTime('UTC'),
    event         LowCardinality(String),
    notifications AggregateFunction(groupBitmap, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, event)
TTL hour + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 8;

CREATE TABLE IF NOT EXISTS funnel_daily
(
    day           DateTime('UTC'),
    event         LowCardinality(String),
    notifications AggregateFunction(groupBitmap, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (day, event)
TTL day + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 8;

CREATE MATERIALIZED VIEW IF NOT EXISTS funnel_hourly_mv TO funnel_hourly AS
SELECT
    toStartOfHour(event_time) AS hour,
    event,
    groupBitmapState(notification_id) AS notifications
FROM events
WHERE event IN ('created', 'delivered', 'read', 'clicked')
GROUP BY hour, event;

CREATE MATERIALIZED VIEW IF NOT EXISTS funnel_daily_mv TO funnel_daily AS
SELECT
    toStartOfDay(hour) AS day,
    event,
    groupBitmapMergeState(notifications) AS notifications
FROM funnel_hourly
GROUP BY day, event;

-- 30-day periods since the epoch: a month of ids makes dense bitmaps (bitset
-- containers), so the middle of a long window costs little whatever the ids.
CREATE TABLE IF NOT EXISTS funnel_30d
(
    period        DateTime('UTC'),
    event         LowCardinality(String),
    notifications AggregateFunction(groupBitmap, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (period, event)
TTL addDays(period, 30) + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 8;

CREATE MATERIALIZED VIEW IF NOT EXISTS funnel_30d_mv TO funnel_30d AS
SELECT
    toDateTime(intDiv(toUInt32(day), 2592000) * 2592000, 'UTC') AS period,
    event,
    groupBitmapMergeState(notifications) AS notifications
FROM funnel_daily
GROUP BY period, event;

-- Backfill from the events already stored (the daily and 30-day tables fill
-- through their views).
INSERT INTO latency_hourly
SELECT
    toStartOfHour(event_time) AS hour,
    event,
    channel,
    multiIf(assumeNotNull(latency_ms) < 64, toUInt16(assumeNotNull(latency_ms)), toUInt16(64 + floor(log(assumeNotNull(latency_ms) / 64) / log(1.02)))) AS bucket,
    count() AS n,
    sum(assumeNotNull(latency_ms)) AS total,
    min(assumeNotNull(latency_ms)) AS lo,
    max(assumeNotNull(latency_ms)) AS hi
FROM events FINAL
WHERE latency_ms IS NOT NULL
GROUP BY hour, event, channel, bucket;

INSERT INTO funnel_hourly
SELECT
    toStartOfHour(event_time) AS hour,
    event,
    groupBitmapState(notification_id) AS notifications
FROM events FINAL
WHERE event IN ('created', 'delivered', 'read', 'clicked')
GROUP BY hour, event;
