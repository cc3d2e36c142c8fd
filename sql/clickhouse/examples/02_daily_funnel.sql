-- Daily delivery funnel over the last 30 days: distinct notifications created, delivered, read, clicked (from the hourly rollup)
SELECT
    toDate(hour) AS day,
    groupBitmapMergeIf(notifications, event = 'created') AS created,
    groupBitmapMergeIf(notifications, event = 'delivered') AS delivered,
    groupBitmapMergeIf(notifications, event = 'read') AS read,
    groupBitmapMergeIf(notifications, event = 'clicked') AS clicked
FROM events_hourly
WHERE hour >= now() - INTERVAL 30 DAY
GROUP BY day
ORDER BY day
