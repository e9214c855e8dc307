-- Every stored checkpoint, oldest first: privaudit verify checks each
-- signature and that each root is the tree's at its size.
SELECT tree_size, root_hash, note, signed_at
FROM {{.MetaDB}}.log_checkpoints
ORDER BY tree_size, signed_at
