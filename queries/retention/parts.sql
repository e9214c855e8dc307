-- The active partitions of one table (arguments: database, table), from
-- system.parts: the only source of the partition ids the job drops.
SELECT partition_id, sum(rows) AS row_count
FROM system.parts
WHERE database = ? AND table = ? AND active
GROUP BY partition_id
ORDER BY partition_id
