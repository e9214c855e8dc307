-- Drops one monthly partition of ingest_batches (argument: its partition id, read
-- from system.parts).
ALTER TABLE {{.MetaDB}}.ingest_batches {{.OnCluster}} DROP PARTITION ID ?
