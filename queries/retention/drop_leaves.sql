-- The leaf runs recorded for one drop (argument: drop_id), in leaf order.
SELECT first_leaf, last_leaf
FROM {{.MetaDB}}.retention_drop_leaves FINAL
WHERE drop_id = ?
ORDER BY first_leaf
