-- The leaf rows at index ?: their count and one hash (the leaf, level 0 of
-- the tree).
SELECT count(), any(leaf_hash) FROM {{.MetaDB}}.log_leaves WHERE leaf_index = ?
