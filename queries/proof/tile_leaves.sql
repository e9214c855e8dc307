-- The leaves of indexes [@begin, @end) (level 0 of the tree), in index
-- order: per index, its count (one, in a sound log) and one hash (hex),
-- read from the well-formed runs that overlap the range.
SELECT leaf_index, count(), lower(hex(any(h)))
FROM
(
    SELECT first_leaf + i AS leaf_index, h
    FROM
    (
        SELECT first_leaf, record_keys, leaf_hashes
        FROM {{.MetaDB}}.log_leaf_runs
        WHERE first_leaf < @end AND first_leaf + length(record_keys) > @begin AND length(leaf_hashes) = length(record_keys)
    )
    ARRAY JOIN leaf_hashes AS h, range(length(record_keys)) AS i
)
WHERE leaf_index >= @begin AND leaf_index < @end
GROUP BY leaf_index ORDER BY leaf_index
