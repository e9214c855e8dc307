-- Every leaf up to @last, from the runs read raw (a removed or repeated
-- leaf must show): privaudit verify rebuilds the tree from them in index
-- order. "sorted" sorts them; without it a single reader (max_threads 1)
-- gets them in stored order, which is index order unless the log was
-- tampered with, and verify checks that they come in order. hex_len is
-- the hash's length in hex: 0 for a leaf its run holds no hash for (a run
-- with fewer hashes than keys), whose hash reads as zero bytes. k is the hash of the leaf's
-- record kind and key (verify checks none repeats); d1 and d2 are the
-- leaf's terms in the keyed digest that verify_digest_records.sql computes
-- from the stored records (key @key: random per run).
SELECT
    first_leaf + i AS leaf_index,
    substring(h, 1, 32) AS hash,
    toUInt64(if(hashed, 64, 0)) AS hex_len,
    kind = 'consents' AS is_consent,
    sipHash64(kind, record_key) AS k,
    reinterpretAsUInt64(substring(SHA256(concat(unhex(@key), h)), 1, 8)) AS d1,
    reinterpretAsUInt64(substring(SHA256(concat(unhex(@key), h)), 9, 8)) AS d2
FROM {{.MetaDB}}.log_leaf_runs
ARRAY JOIN record_keys AS record_key, arrayResize(leaf_hashes, length(record_keys)) AS h, range(length(record_keys)) AS i,
    arrayMap(j -> j < length(leaf_hashes), range(length(record_keys))) AS hashed
WHERE first_leaf <= @last AND first_leaf + i <= @last
{{- if .Filtered "sorted"}}
ORDER BY leaf_index
{{- end}}
