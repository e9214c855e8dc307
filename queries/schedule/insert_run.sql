-- One attempt of a scheduled report run: written when it starts (status
-- 'running', version 0) and again when it ends (final status, version 1).
-- Timestamps are bound as Unix seconds.
INSERT INTO {{.MetaDB}}.report_runs (
    run_id, attempt, schedule, report, trigger, requested_by, instance,
    fired_at, period_from, period_to, formats, started_at, finished_at,
    duration_ms, status, rows, detail_sha256,
    file_formats, file_paths, file_sizes, file_sha256s, event_ids, error, version)
SELECT ?, toUInt16(?), ?, ?, ?, ?, ?,
    toDateTime(?), toDateTime(?), toDateTime(?), CAST(? AS Array(String)), toDateTime(?), toDateTime(?),
    toUInt64(?), ?, toUInt64(?), ?,
    CAST(? AS Array(String)), CAST(? AS Array(String)), CAST(? AS Array(UInt64)), CAST(? AS Array(String)),
    CAST(? AS Array(String)), ?, toUInt64(?)
