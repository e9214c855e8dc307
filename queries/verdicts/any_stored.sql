-- Whether the verdict store holds any row (one row, or none).
SELECT 1 FROM {{.DB}}.access_verdicts LIMIT 1
