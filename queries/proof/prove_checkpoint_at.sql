-- The stored checkpoint of tree size ?.
SELECT tree_size, note FROM {{.MetaDB}}.log_checkpoints WHERE tree_size = ? ORDER BY signed_at DESC LIMIT 1
