-- The delivery tries of some runs, by run, target and attempt. Argument:
-- the run ids (an array).
SELECT run_id, target, target_type, attempt, started_at, finished_at, outcome, detail, error
FROM {{.MetaDB}}.report_deliveries FINAL
WHERE has(CAST(? AS Array(String)), run_id)
ORDER BY run_id, target, attempt
