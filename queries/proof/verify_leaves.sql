-- Every run of leaves that starts up to @last, read raw (a removed or
-- repeated leaf must show): privaudit verify expands each into its leaves
-- (the ones up to @last) and rebuilds the tree from them in index order,
-- hashing each leaf's record kind and key (to check none repeats) and its
-- terms in the keyed digest itself. "sorted" sorts the runs; without it a
-- single reader (max_threads 1) gets them in stored order, which is index
-- order unless the log was tampered with, and verify checks that they come
-- in order.
SELECT first_leaf, kind = 'consents' AS is_consent, record_keys, leaf_hashes
FROM {{.MetaDB}}.log_runs
WHERE first_leaf <= @last
{{- if .Filtered "sorted"}}
ORDER BY first_leaf
{{- end}}
