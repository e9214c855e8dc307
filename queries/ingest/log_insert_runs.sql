INSERT INTO {{.MetaDB}}.log_runs (first_leaf, leaf_count, kind, batch_id, record_keys, leaf_hashes, appended_at)
