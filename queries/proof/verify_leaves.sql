-- Every run of leaves, read raw (a removed or repeated leaf must show):
-- privaudit verify reads them over the native protocol (audit/chwire),
-- expands each into its leaves up to the last one it checks, and rebuilds
-- the tree from them in index order, hashing each leaf's record kind and
-- key (to check none repeats) and its terms in the keyed digest itself.
-- "sorted" sorts the runs; without it a single reader (max_threads 1) gets
-- them in stored order, which is index order unless the log was tampered
-- with, and verify checks that they come in order. (Runs past the last
-- leaf checked, appended since verify began, are few and skipped.)
SELECT first_leaf, kind = 'consents' AS is_consent, record_keys, leaf_hashes
FROM {{.MetaDB}}.log_runs
{{- if .Filtered "sorted"}}
ORDER BY first_leaf
{{- end}}
