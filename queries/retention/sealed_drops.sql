-- Every drop recorded done, with its signature, oldest first: what
-- `privaudit verify` counts as retention (of the tables whose records are
-- proof log leaves) and `privaudit retention drops` lists.
SELECT drop_id, db, table_name, partition_id, range_from, range_to, row_count, done_at, signature
FROM {{.MetaDB}}.retention_drops FINAL
WHERE status = 'done'
ORDER BY done_at, drop_id
