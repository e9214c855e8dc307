-- The latest stored checkpoint covering leaf ?: its tree size is above it.
SELECT tree_size, note FROM {{.MetaDB}}.log_checkpoints WHERE tree_size > ? ORDER BY tree_size DESC, signed_at DESC LIMIT 1
