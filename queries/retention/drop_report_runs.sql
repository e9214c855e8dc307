-- Drops one monthly partition of report_runs (argument: its partition id, read
-- from system.parts).
ALTER TABLE {{.MetaDB}}.report_runs {{.OnCluster}} DROP PARTITION ID ?
