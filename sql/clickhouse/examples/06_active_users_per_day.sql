-- Distinct users who read or clicked something, per day, last 14 days
SELECT toDate(hour) AS day, uniqMerge(users) AS active_users
FROM events_hourly
WHERE event IN ('read', 'clicked') AND hour >= now() - INTERVAL 14 DAY
GROUP BY day
ORDER BY day
