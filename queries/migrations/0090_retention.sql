-- Retention (issue 18): each drop of a monthly partition by the retention
-- job, recorded before and after the DROP so a crash never leaves an
-- unrecorded drop. A drop is written as status 'intent' (version 1) before
-- the ALTER TABLE … DROP PARTITION and 'done' (version 2) after it; an
-- intent without its done is finished at the job's next run. 'kept' rows
-- say a partition past its retention was kept under a legal hold (detail
-- names the holds); 'cancelled' says an unfinished intent found its
-- partition held at roll-forward and left it. range_from/range_to are the
-- partition's month; min_time/max_time and row_count are what it held when
-- dropped. signature is left for the signed checkpoints to fill.
-- Read with FINAL.
CREATE TABLE IF NOT EXISTS {{.MetaDB}}.retention_drops {{.OnCluster}} (
    drop_id          String,
    db               String,
    table_name       String,
    partition_id     String,
    range_from       DateTime,
    range_to         DateTime,
    min_time         DateTime,
    max_time         DateTime,
    row_count        UInt64,
    retention_months UInt16,
    status           String,
    detail           String,
    job              String,
    instance         String,
    intended_at      DateTime,
    done_at          DateTime,
    signature        String,
    version          UInt64
) ENGINE = {{.Engine "retention_drops" "version"}}
ORDER BY (db, table_name, partition_id, drop_id);

-- Legal holds: a subject (subject_id) or a period [period_from, period_to)
-- whose records the retention job must not drop while the hold stands. Set
-- (version 1) and lifted (version 2) by an admin; read with FINAL.
CREATE TABLE IF NOT EXISTS {{.MetaDB}}.legal_holds {{.OnCluster}} (
    hold_id     String,
    kind        String,
    subject_id  String,
    period_from DateTime,
    period_to   DateTime,
    reason      String,
    set_by      String,
    set_at      DateTime,
    lifted      UInt8,
    lifted_by   String,
    lifted_at   DateTime,
    lift_reason String,
    version     UInt64
) ENGINE = {{.Engine "legal_holds" "version"}}
ORDER BY hold_id;
