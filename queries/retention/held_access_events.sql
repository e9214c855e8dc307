-- The held subjects with rows in one monthly partition of access_events
-- (arguments: the month YYYYMM, the held subject ids, never empty).
SELECT DISTINCT subject_id
FROM {{.DB}}.access_events
WHERE toYYYYMM(occurred_at) = ? AND has(?, subject_id)
