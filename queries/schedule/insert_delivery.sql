-- One try of one delivery target of a run (see report_deliveries).
-- Timestamps are bound as Unix seconds.
INSERT INTO {{.MetaDB}}.report_deliveries (
    run_id, schedule, target, target_type, attempt, instance,
    started_at, finished_at, outcome, is_final, detail, error, version)
SELECT ?, ?, ?, ?, toUInt16(?), ?,
    toDateTime(?), toDateTime(?), ?, toUInt8(?), ?, ?, toUInt64(?)
