SELECT any(leaf_hash) FROM {{.MetaDB}}.log_leaves WHERE leaf_index = ?
