-- The interior node (level ?, node_index ?): the latest version wins.
SELECT count(), argMax(hash, version) FROM {{.MetaDB}}.log_nodes WHERE level = ? AND node_index = ?
