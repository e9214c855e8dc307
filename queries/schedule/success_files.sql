-- A schedule's successful runs and their output files, newest first, for
-- output retention.
SELECT run_id, file_paths
FROM {{.MetaDB}}.report_runs FINAL
WHERE schedule = ? AND status = 'success'
ORDER BY started_at DESC, run_id DESC
