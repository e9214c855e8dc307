INSERT INTO {{.MetaDB}}.log_leaves (leaf_index, kind, record_key, leaf_hash, batch_id, appended_at)
