-- Which of the given records (kind, keys) have a leaf now: privaudit verify
-- looks again at records found without one, which may have been stored by
-- a writer still appending their leaves.
SELECT DISTINCT record_key
FROM {{.MetaDB}}.log_leaves
WHERE kind = @kind AND has(@keys, record_key)
