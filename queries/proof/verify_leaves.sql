-- Every leaf row, raw (a removed or repeated leaf must show), in index
-- order: privaudit verify rebuilds the tree from them.
SELECT leaf_index, unhex(leaf_hash) AS hash, length(leaf_hash) AS hex_len
FROM {{.MetaDB}}.log_leaves
ORDER BY leaf_index
