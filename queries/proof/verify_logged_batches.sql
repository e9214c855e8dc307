-- The batches with a leaf up to @last, the leaves privaudit verify checks:
-- the digest of the stored records sums only theirs ("logged"); it counts
-- the others as later (batches logged after the run began, or records
-- written outside privaudit, which verify tells apart with
-- verify_unlogged.sql).
SELECT DISTINCT batch_id
FROM {{.MetaDB}}.log_runs
WHERE first_leaf <= @last
