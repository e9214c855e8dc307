-- A schedule's attempts that one instance left 'running': read at that
-- instance's start, when none of them can still run (privaudit died during
-- them). Columns as list_runs. Arguments: schedule, instance.
SELECT run_id, attempt, schedule, report, trigger, requested_by, instance,
       fired_at, period_from, period_to, formats, started_at, finished_at,
       duration_ms, status, rows, detail_sha256,
       file_formats, file_paths, file_sizes, file_sha256s, event_ids, error
FROM {{.MetaDB}}.report_runs FINAL
WHERE schedule = ? AND instance = ? AND status = 'running'
ORDER BY started_at, run_id, attempt
