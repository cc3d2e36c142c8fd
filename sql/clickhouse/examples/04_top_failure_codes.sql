-- Which error codes cause the most failed or bounced deliveries this week, per channel?
SELECT channel, error_code, count() AS failures
FROM events
WHERE event IN ('failed', 'bounced') AND event_time >= now64(3) - INTERVAL 7 DAY
GROUP BY channel, error_code
ORDER BY failures DESC
LIMIT 20
