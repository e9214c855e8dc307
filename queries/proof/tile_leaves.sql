-- The leaves of indexes [?, ?) (level 0 of the tree), in index order: per
-- index, its row count (one, in a sound log) and one hash.
SELECT leaf_index, count(), any(leaf_hash) FROM {{.MetaDB}}.log_leaves
WHERE leaf_index >= ? AND leaf_index < ?
GROUP BY leaf_index ORDER BY leaf_index
