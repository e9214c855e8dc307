-- The leaves privaudit verify checks: the rows of log_leaves when it
-- begins, and the highest index among them. Leaves appended while it runs
-- have higher indexes and are left for the next run.
SELECT count(), max(leaf_index) FROM {{.MetaDB}}.log_leaves
