-- What one monthly partition of consent_events holds (argument: its month, YYYYMM).
SELECT count() AS row_count, min(effective_at) AS min_time, max(effective_at) AS max_time
FROM {{.DB}}.consent_events
WHERE toYYYYMM(effective_at) = ?
