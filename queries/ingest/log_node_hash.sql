SELECT argMax(hash, version) FROM {{.MetaDB}}.log_nodes WHERE level = ? AND node_index = ?
