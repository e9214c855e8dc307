INSERT INTO {{.MetaDB}}.log_checkpoints (tree_size, root_hash, note, signed_at)
