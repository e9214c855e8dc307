-- Run history, newest first: every attempt, optionally of one schedule
-- and/or one run, optionally only the attempts of one status. Arguments:
-- schedule twice, run_id twice, status twice, limit.
SELECT run_id, attempt, schedule, report, trigger, requested_by, instance,
       fired_at, period_from, period_to, formats, started_at, finished_at,
       duration_ms, status, rows, detail_sha256,
       file_formats, file_paths, file_sizes, file_sha256s, event_ids, error
FROM {{.MetaDB}}.report_runs FINAL
WHERE (? = '' OR schedule = ?)
  AND (? = '' OR run_id = ?)
  AND (? = '' OR status = ?)
ORDER BY started_at DESC, run_id DESC, attempt DESC
LIMIT ?
