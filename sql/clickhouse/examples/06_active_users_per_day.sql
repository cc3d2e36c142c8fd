-- Distinct users who read or clicked something, per day, last 14 days (raw events)
SELECT toDate(event_time) AS day, uniq(user_id) AS active_users
FROM events
WHERE event IN ('read', 'clicked') AND event_time >= now() - INTERVAL 14 DAY
GROUP BY day
ORDER BY day
