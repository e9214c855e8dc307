-- What one monthly partition of access_verdicts holds (argument: its month, YYYYMM).
SELECT count() AS row_count, min(occurred_at) AS min_time, max(occurred_at) AS max_time
FROM {{.DB}}.access_verdicts
WHERE toYYYYMM(occurred_at) = ?
