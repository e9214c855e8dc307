-- Idempotency keys: one row per event_id / consent_event_id ever stored,
-- ordered by the key so the writer can look a batch's keys up cheaply and
-- store each record once (first write wins). Filled by materialized views,
-- so a key exists exactly when its record was inserted.
CREATE TABLE IF NOT EXISTS {{.MetaDB}}.event_keys {{.OnCluster}} (
    event_id    String,
    occurred_at DateTime
) ENGINE = {{.Engine "event_keys"}}
PARTITION BY toYYYYMM(occurred_at)
ORDER BY event_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.MetaDB}}.event_keys_mv {{.OnCluster}}
TO {{.MetaDB}}.event_keys
AS SELECT event_id, occurred_at FROM {{.DB}}.access_events;

CREATE TABLE IF NOT EXISTS {{.MetaDB}}.consent_keys {{.OnCluster}} (
    consent_event_id String,
    effective_at     DateTime
) ENGINE = {{.Engine "consent_keys"}}
PARTITION BY toYYYYMM(effective_at)
ORDER BY consent_event_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.MetaDB}}.consent_keys_mv {{.OnCluster}}
TO {{.MetaDB}}.consent_keys
AS SELECT consent_event_id, effective_at FROM {{.DB}}.consent_events;
