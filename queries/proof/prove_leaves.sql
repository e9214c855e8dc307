-- The leaves of a record id (@key), of either kind: an id is an event_id
-- or a consent_event_id. Every run holding it is read raw, so a leaf
-- appended twice shows twice.
SELECT first_leaf + i AS leaf_index, kind, lower(hex(h)) AS leaf_hash
FROM
(
    SELECT first_leaf, kind, record_keys, leaf_hashes
    FROM {{.MetaDB}}.log_runs
    WHERE has(record_keys, @key) AND length(leaf_hashes) = length(record_keys)
)
ARRAY JOIN record_keys AS record_key, leaf_hashes AS h, range(length(record_keys)) AS i
WHERE record_key = @key
ORDER BY leaf_index, kind
