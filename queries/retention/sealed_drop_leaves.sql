-- The leaf runs of every drop recorded done, by drop and in leaf order.
SELECT drop_id, first_leaf, last_leaf
FROM {{.MetaDB}}.retention_drop_leaves FINAL
WHERE drop_id IN (SELECT drop_id FROM {{.MetaDB}}.retention_drops FINAL WHERE status = 'done')
ORDER BY drop_id, first_leaf
