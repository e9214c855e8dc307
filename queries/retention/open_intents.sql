-- Drops recorded as intended and not finished (a crash between the intent
-- and its done): the job finishes them before anything else.
SELECT drop_id, db, table_name, partition_id, range_from, range_to, min_time, max_time, row_count,
       retention_months, job, instance, intended_at, signature
FROM {{.MetaDB}}.retention_drops FINAL
WHERE status = 'intent'
ORDER BY intended_at, drop_id
