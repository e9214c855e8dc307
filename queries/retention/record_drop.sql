-- One state of a retention drop (see migration 0090).
INSERT INTO {{.MetaDB}}.retention_drops
    (drop_id, db, table_name, partition_id, range_from, range_to, min_time, max_time, row_count,
     retention_months, status, detail, job, instance, intended_at, done_at, signature, version)
