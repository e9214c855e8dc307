-- Whether this replica leads the replicated table (arguments: database,
-- table): in cluster mode the job drops partitions on the leader, since a
-- ClickHouse 18.16 replica forwards a DROP PARTITION to the leader as user
-- default.
SELECT is_leader FROM system.replicas WHERE database = ? AND table = ?
