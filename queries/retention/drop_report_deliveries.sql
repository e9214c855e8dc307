-- Drops one monthly partition of report_deliveries (argument: its partition id, read
-- from system.parts).
ALTER TABLE {{.MetaDB}}.report_deliveries {{.OnCluster}} DROP PARTITION ID ?
