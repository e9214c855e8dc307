-- Which of the given records (by k, verify_records' hash of kind and key)
-- have a leaf now: privaudit verify looks again at records found without
-- one, which a writer may have been appending.
SELECT DISTINCT sipHash64(concat(kind, '/', record_key))
FROM {{.MetaDB}}.log_leaf_rows
WHERE has(@ks, sipHash64(concat(kind, '/', record_key)))
