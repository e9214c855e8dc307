-- How many rows of one monthly partition of access_events belong to held subjects
-- (arguments: the month YYYYMM, the held subject ids, never empty).
SELECT count()
FROM {{.DB}}.access_events
WHERE toYYYYMM(occurred_at) = ? AND has(?, subject_id)
