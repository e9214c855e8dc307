-- The active partitions of one table (arguments: database, table), from
-- system.parts: the only source of the partition ids the job drops.
SELECT DISTINCT partition_id
FROM system.parts
WHERE database = ? AND table = ? AND active
ORDER BY partition_id
