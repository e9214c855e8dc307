-- Drops one monthly partition of ingest_batches (argument: its partition id, read
-- from system.parts). No ON CLUSTER: in cluster mode the table is
-- replicated on one shard, and the drop reaches every replica through the
-- replication log (ON CLUSTER would run it as the DDL worker's user, which
-- a non-leader replica then forwards to the leader, and 18.16 refuses).
ALTER TABLE {{.MetaDB}}.ingest_batches DROP PARTITION ID ?
