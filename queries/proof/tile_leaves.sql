-- The leaves of indexes [@begin, @end) (level 0 of the tree), in index
-- order: per index, its count (one, in a sound log) and one hash (hex),
-- read from the well-formed runs that overlap the range. The first
-- condition bounds first_leaf from below with the cheap columns (no run
-- starting before the first that reaches @begin can overlap), so the
-- primary index skips every earlier granule of runs.
SELECT leaf_index, count(), lower(hex(any(h)))
FROM
(
    SELECT first_leaf + i AS leaf_index, h
    FROM
    (
        SELECT first_leaf, record_keys, leaf_hashes
        FROM {{.MetaDB}}.log_runs
        WHERE first_leaf >= (SELECT min(first_leaf) FROM {{.MetaDB}}.log_runs WHERE first_leaf + leaf_count > @begin)
          AND first_leaf < @end AND first_leaf + length(record_keys) > @begin AND length(leaf_hashes) = length(record_keys)
    )
    ARRAY JOIN leaf_hashes AS h, range(length(record_keys)) AS i
)
WHERE leaf_index >= @begin AND leaf_index < @end
GROUP BY leaf_index ORDER BY leaf_index
