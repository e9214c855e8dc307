-- The recorded retention decisions, oldest first: drops ('done', and any
-- 'intent' not yet finished), partitions kept under a hold, cancelled intents.
SELECT drop_id, db, table_name, partition_id, range_from, range_to, min_time, max_time, row_count,
       retention_months, status, detail, job, instance, intended_at, done_at, signature
FROM {{.MetaDB}}.retention_drops FINAL
ORDER BY intended_at, drop_id
