-- What one monthly partition of access_events holds (argument: its month, YYYYMM).
SELECT count() AS row_count, min(occurred_at) AS min_time, max(occurred_at) AS max_time
FROM {{.DB}}.access_events
WHERE toYYYYMM(occurred_at) = ?
