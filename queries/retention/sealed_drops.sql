-- The drops recorded done of the tables whose records are proof log
-- leaves, with their signatures, oldest first: what `privaudit verify`
-- counts as retention.
SELECT drop_id, db, table_name, partition_id, range_from, range_to, row_count, done_at, signature
FROM {{.MetaDB}}.retention_drops FINAL
WHERE status = 'done' AND table_name IN ('access_events', 'consent_events')
ORDER BY done_at, drop_id
