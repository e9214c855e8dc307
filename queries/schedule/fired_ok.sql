-- Whether the scheduler already produced the run of one fire time (Unix
-- seconds) successfully.
SELECT count()
FROM {{.MetaDB}}.report_runs FINAL
WHERE schedule = ? AND fired_at = toDateTime(?) AND status = 'success' AND trigger != 'manual'
