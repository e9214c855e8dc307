-- The leaves of indexes [@begin, @end) (level 0 of the tree), in index
-- order: per index, its count (one, in a sound log) and one hash (hex),
-- read from the runs that overlap the range.
SELECT leaf_index, count(), lower(hex(any(h)))
FROM
(
    SELECT first_leaf + i AS leaf_index, h
    FROM {{.MetaDB}}.log_leaf_runs
    ARRAY JOIN arrayResize(leaf_hashes, length(record_keys)) AS h, range(length(record_keys)) AS i
    WHERE first_leaf < @end AND first_leaf + length(record_keys) > @begin
)
WHERE leaf_index >= @begin AND leaf_index < @end
GROUP BY leaf_index ORDER BY leaf_index
