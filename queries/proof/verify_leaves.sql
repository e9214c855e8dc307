-- Every leaf row up to @last, raw (a removed or repeated leaf must show):
-- privaudit verify rebuilds the tree from them in index order. "sorted"
-- sorts them; without it a single reader (max_threads 1) gets them in
-- stored order, which is index order unless the log was tampered with,
-- and verify checks that they come in order. k is the hash of the leaf's
-- record kind and key (verify checks none repeats); d1 and d2 are the
-- leaf's terms in the keyed digest that verify_digest_records.sql computes
-- from the stored records (key @key: random per run).
SELECT
    leaf_index,
    unhex(leaf_hash) AS hash,
    length(leaf_hash) AS hex_len,
    kind = 'consents' AS is_consent,
    sipHash64(kind, record_key) AS k,
    reinterpretAsUInt64(substring(SHA256(concat(unhex(@key), unhex(leaf_hash))), 1, 8)) AS d1,
    reinterpretAsUInt64(substring(SHA256(concat(unhex(@key), unhex(leaf_hash))), 9, 8)) AS d2
FROM {{.MetaDB}}.log_leaves
WHERE leaf_index <= @last
{{- if .Filtered "sorted"}}
ORDER BY leaf_index
{{- end}}
