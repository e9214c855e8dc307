-- The leaves of indexes [@begin, @end) (level 0 of the tree), in index
-- order: per index, its count (one, in a sound log) and one hash (hex),
-- read from the well-formed runs that overlap the range.
SELECT leaf_index, count(), any(h)
FROM
(
    SELECT first_leaf + i AS leaf_index, h
    FROM
    (
        SELECT first_leaf, {{run_keys}} AS keys, {{run_hashes}} AS hashes
        FROM {{.MetaDB}}.log_leaf_runs
        WHERE first_leaf < @end AND first_leaf + leaf_count > @begin AND length({{run_keys}}) = length({{run_hashes}})
    )
    ARRAY JOIN hashes AS h, range(length(keys)) AS i
)
WHERE leaf_index >= @begin AND leaf_index < @end
GROUP BY leaf_index ORDER BY leaf_index
