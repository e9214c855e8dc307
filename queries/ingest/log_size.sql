-- The proof log's size: runs of leaves are contiguous from index 0, so the
-- size is where the last one ends; the leaf count lets the caller check
-- that none is missing or repeated.
SELECT sum(leaf_count), max(first_leaf + leaf_count) FROM {{.MetaDB}}.log_runs
