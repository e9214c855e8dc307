-- The latest signed checkpoint of the proof log, which a report cites as
-- the one its data was read under: its size, root (lowercase hex), the
-- time it was signed and its origin (the first line of the signed note).
-- No row when none is signed yet.
SELECT tree_size, root_hash, signed_at, splitByChar('\n', note)[1] AS origin
FROM {{.MetaDB}}.log_checkpoints
ORDER BY tree_size DESC
LIMIT 1
