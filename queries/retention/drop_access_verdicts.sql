-- Drops one monthly partition of access_verdicts (argument: its partition id, read
-- from system.parts).
ALTER TABLE {{.DB}}.access_verdicts {{.OnCluster}} DROP PARTITION ID ?
