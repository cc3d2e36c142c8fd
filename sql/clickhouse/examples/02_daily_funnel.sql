-- Daily delivery funnel over the last 30 days: distinct notifications created, delivered, read, clicked (from the funnel rollup)
SELECT
    toDate(day) AS day,
    groupBitmapMergeIf(notifications, event = 'created') AS created,
    groupBitmapMergeIf(notifications, event = 'delivered') AS delivered,
    groupBitmapMergeIf(notifications, event = 'read') AS read,
    groupBitmapMergeIf(notifications, event = 'clicked') AS clicked
FROM funnel_daily
WHERE day >= now() - INTERVAL 30 DAY
GROUP BY day
ORDER BY day
