-- Every stored consent key's hash, streamed once at start into the writer's
-- Bloom filter.
SELECT key FROM {{.MetaDB}}.consent_key_hashes
