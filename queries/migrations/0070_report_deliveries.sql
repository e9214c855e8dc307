-- Deliveries of scheduled report runs (issue 17): one row per try of one
-- delivery target of a successful run. Attempt 0 (outcome 'pending') is
-- written when the run's delivery is queued; each try adds its outcome:
-- 'delivered', 'retry' (failed, tried again after a backoff), 'failed'
-- (failed for good: a permanent error or the last attempt) or 'abandoned'
-- (privaudit stopped before the next try). is_final is 1 on the row that ends
-- the target's delivery ('delivered', 'failed'); a target without one is
-- resumed by its instance at the next start. Read with FINAL.
CREATE TABLE IF NOT EXISTS {{.MetaDB}}.report_deliveries {{.OnCluster}} (
    run_id       String,
    schedule     String,
    target       String,
    target_type  String,
    attempt      UInt16,
    instance     String,
    started_at   DateTime,
    finished_at  DateTime,
    outcome      String,
    is_final     UInt8,
    detail       String,
    error        String,
    version      UInt64
) ENGINE = {{.Engine "report_deliveries" "version"}}
PARTITION BY toYYYYMM(started_at)
ORDER BY (run_id, target, attempt);
