-- Which categories get read and clicked most, relative to what was created (last 30 days)?
SELECT
    category,
    sumIf(events, event = 'created') AS created,
    sumIf(events, event = 'read') AS read,
    sumIf(events, event = 'clicked') AS clicked,
    round(read / nullIf(created, 0), 3) AS read_rate,
    round(clicked / nullIf(created, 0), 3) AS click_rate
FROM events_hourly
WHERE hour >= now() - INTERVAL 30 DAY
GROUP BY category
ORDER BY created DESC
