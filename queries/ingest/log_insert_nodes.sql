INSERT INTO {{.MetaDB}}.log_nodes (level, node_index, hash, version)
