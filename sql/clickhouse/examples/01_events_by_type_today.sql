-- How many events of each type arrived today (UTC)?
SELECT event, count() AS events
FROM events
WHERE event_time >= toStartOfDay(now64(3))
GROUP BY event
ORDER BY events DESC
