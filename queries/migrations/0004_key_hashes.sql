-- Idempotency keys by hash. The writer keeps a Bloom filter of every
-- stored key's cityHash64 in memory, so most records need no lookup at all;
-- only keys the filter may hold are looked up here, by the hash, which is
-- the table's primary key (a few granules read, however large the table).
-- The key itself is kept beside its hash, so a hash collision is never
-- mistaken for a duplicate. Filled by materialized views: a key exists once
-- its record was inserted. This replaces 0002's tables ordered by the key
-- string, whose lookups read the whole table for every batch.
DROP TABLE IF EXISTS {{.MetaDB}}.event_keys_mv {{.OnCluster}};
DROP TABLE IF EXISTS {{.MetaDB}}.consent_keys_mv {{.OnCluster}};

CREATE TABLE IF NOT EXISTS {{.MetaDB}}.event_key_hashes {{.OnCluster}} (
    key      UInt64,
    event_id String
) ENGINE = {{.Engine "event_key_hashes"}}
ORDER BY (key, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.MetaDB}}.event_key_hashes_mv {{.OnCluster}}
TO {{.MetaDB}}.event_key_hashes
AS SELECT cityHash64(event_id) AS key, event_id FROM {{.DB}}.access_events;

CREATE TABLE IF NOT EXISTS {{.MetaDB}}.consent_key_hashes {{.OnCluster}} (
    key              UInt64,
    consent_event_id String
) ENGINE = {{.Engine "consent_key_hashes"}}
ORDER BY (key, consent_event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.MetaDB}}.consent_key_hashes_mv {{.OnCluster}}
TO {{.MetaDB}}.consent_key_hashes
AS SELECT cityHash64(consent_event_id) AS key, consent_event_id FROM {{.DB}}.consent_events;

-- Keys of records stored before this migration (migrations run before the
-- writers start; a repeated run only adds rows that merge away).
INSERT INTO {{.MetaDB}}.event_key_hashes (key, event_id)
SELECT cityHash64(event_id), event_id FROM {{.DB}}.access_events;

INSERT INTO {{.MetaDB}}.consent_key_hashes (key, consent_event_id)
SELECT cityHash64(consent_event_id), consent_event_id FROM {{.DB}}.consent_events;

DROP TABLE IF EXISTS {{.MetaDB}}.event_keys {{.OnCluster}};
DROP TABLE IF EXISTS {{.MetaDB}}.consent_keys {{.OnCluster}};
