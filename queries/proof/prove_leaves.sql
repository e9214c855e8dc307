-- The leaves of a record id (@key), of either kind: an id is an event_id
-- or a consent_event_id. Every well-formed run holding it is read raw, so
-- a leaf appended twice shows twice.
SELECT first_leaf + i AS leaf_index, kind, h AS leaf_hash
FROM
(
    SELECT first_leaf, kind, {{run_keys}} AS keys, {{run_hashes}} AS hashes
    FROM {{.MetaDB}}.log_leaf_runs
    WHERE position(record_keys, @key) > 0 AND length({{run_keys}}) = length({{run_hashes}})
)
ARRAY JOIN keys AS record_key, hashes AS h, range(length(keys)) AS i
WHERE record_key = @key
ORDER BY leaf_index, kind
