-- The held subjects with rows in one monthly partition of access_verdicts
-- (arguments: the month YYYYMM, the held subject ids, never empty).
SELECT DISTINCT subject_id
FROM {{.DB}}.access_verdicts
WHERE toYYYYMM(occurred_at) = ? AND has(?, subject_id)
