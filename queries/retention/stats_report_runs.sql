-- What one monthly partition of report_runs holds (argument: its month, YYYYMM).
SELECT count() AS row_count, min(started_at) AS min_time, max(started_at) AS max_time
FROM {{.MetaDB}}.report_runs
WHERE toYYYYMM(started_at) = ?
