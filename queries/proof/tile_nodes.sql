-- The stored nodes of level ? and indexes [?, ?), in index order: per
-- index, its row count (its versions) and the latest version's hash.
SELECT node_index, count(), argMax(hash, version) FROM {{.MetaDB}}.log_nodes
WHERE level = ? AND node_index >= ? AND node_index < ?
GROUP BY node_index ORDER BY node_index
