-- Delivery latency per channel over the last 7 days: count, average, and p50/p95/p99 (ms, the largest value of the histogram bucket holding each: within 2 %)
WITH
    buckets AS
    (
        SELECT channel, bucket, sum(n) AS n, sum(total) AS total, max(hi) AS hi
        FROM latency_hourly
        WHERE event = 'delivered' AND hour >= now() - INTERVAL 7 DAY
        GROUP BY channel, bucket
    ),
    cumulative AS
    (
        SELECT
            channel, hi, total,
            sum(n) OVER (PARTITION BY channel ORDER BY bucket) AS upto,
            sum(n) OVER (PARTITION BY channel) AS total_n
        FROM buckets
    )
SELECT
    channel,
    any(total_n) AS deliveries,
    round(sum(total) / any(total_n)) AS avg_ms,
    minIf(hi, upto > 0.5 * total_n) AS p50,
    minIf(hi, upto > 0.95 * total_n) AS p95,
    minIf(hi, upto > 0.99 * total_n) AS p99
FROM cumulative
GROUP BY channel
ORDER BY deliveries DESC
