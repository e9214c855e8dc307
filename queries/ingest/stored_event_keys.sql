-- Every stored event key's hash, streamed once at start into the writer's
-- Bloom filter.
SELECT key FROM {{.MetaDB}}.event_key_hashes
