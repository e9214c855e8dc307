-- How many rows of one monthly partition of consent_events belong to held subjects
-- (arguments: the month YYYYMM, the held subject ids, never empty).
SELECT count()
FROM {{.DB}}.consent_events
WHERE toYYYYMM(effective_at) = ? AND has(?, subject_id)
