-- The fire time of a schedule's last successful run that the scheduler
-- triggered (manual runs do not count), for catching up missed runs.
-- Returns the count of such runs and the latest fire time (Unix seconds).
SELECT count(), toInt64(max(fired_at))
FROM {{.MetaDB}}.report_runs FINAL
WHERE schedule = ? AND status = 'success' AND trigger != 'manual'
