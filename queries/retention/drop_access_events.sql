-- Drops one monthly partition of access_events (argument: its partition id, read
-- from system.parts).
ALTER TABLE {{.DB}}.access_events {{.OnCluster}} DROP PARTITION ID ?
