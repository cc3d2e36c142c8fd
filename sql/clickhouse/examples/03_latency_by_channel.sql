-- Delivery latency percentiles (ms) per channel over the last 7 days
SELECT
    channel,
    sum(latency_count) AS deliveries,
    arrayMap(x -> round(x), quantilesTDigestMerge(0.5, 0.9, 0.95, 0.99)(latency)) AS p50_p90_p95_p99
FROM events_hourly
WHERE event = 'delivered' AND hour >= now() - INTERVAL 7 DAY
GROUP BY channel
ORDER BY deliveries DESC
