-- Which stored event_ids have the hashes of a batch's candidate keys (those
-- the writer's Bloom filter may hold). The candidates arrive as the external
-- table `batch_keys` (key UInt64); the primary key (key, event_id) limits
-- the read to the granules holding them. The writer compares the returned
-- ids with its own, so a hash collision is never taken for a duplicate.
SELECT DISTINCT event_id FROM {{.MetaDB}}.event_key_hashes WHERE key IN (SELECT key FROM batch_keys)
