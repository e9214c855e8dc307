-- Drops one monthly partition of consent_events (argument: its partition id, read
-- from system.parts).
ALTER TABLE {{.DB}}.consent_events {{.OnCluster}} DROP PARTITION ID ?
