-- Scheduled report runs (issue 4): one row per attempt of a run. An attempt
-- is written twice — status 'running' (version 0) when it starts, its final
-- status (version 1) when it ends — and the later row replaces the earlier
-- one, so the history shows runs in progress and a crash leaves 'running'.
-- Read with FINAL. Output files are parallel arrays (one entry per format).
CREATE TABLE IF NOT EXISTS {{.MetaDB}}.report_runs {{.OnCluster}} (
    run_id        String,
    attempt       UInt16,
    schedule      String,
    report        String,
    trigger       String,
    requested_by  String,
    instance      String,
    fired_at      DateTime,
    period_from   DateTime,
    period_to     DateTime,
    formats       Array(String),
    started_at    DateTime,
    finished_at   DateTime,
    duration_ms   UInt64,
    status        String,
    rows          UInt64,
    detail_sha256 String,
    file_formats  Array(String),
    file_paths    Array(String),
    file_sizes    Array(UInt64),
    file_sha256s  Array(String),
    event_ids     Array(String),
    error         String,
    version       UInt64
) ENGINE = {{.Engine "report_runs" "version"}}
PARTITION BY toYYYYMM(started_at)
ORDER BY (schedule, run_id, attempt);
