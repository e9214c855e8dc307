-- The held subjects with rows in one monthly partition of consent_events
-- (arguments: the month YYYYMM, the held subject ids, never empty).
SELECT DISTINCT subject_id
FROM {{.DB}}.consent_events
WHERE toYYYYMM(effective_at) = ? AND has(?, subject_id)
