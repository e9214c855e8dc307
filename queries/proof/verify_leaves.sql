-- Every leaf up to @last, from the runs read raw (a removed or repeated
-- leaf must show): privaudit verify rebuilds the tree from them in index
-- order. "sorted" sorts them; without it a single reader (max_threads 1)
-- gets them in stored order, which is index order unless the log was
-- tampered with, and verify checks that they come in order. hex_len is
-- the stored hash's length in hex: 64, or 0 for each leaf of a run whose
-- keys and hashes differ in number (altered by hand), whose hashes are
-- then not read. k is the hash of the leaf's record kind and key (verify
-- checks none repeats); d1 and d2 are the leaf's terms in the keyed digest
-- that verify_digest_records.sql computes from the stored records (key
-- @key: random per run).
SELECT
    first_leaf + i AS leaf_index,
    substring(h, 1, 32) AS hash,
    toUInt64(if(ok, 64, 0)) AS hex_len,
    kind = 'consents' AS is_consent,
    sipHash64(kind, record_key) AS k,
    reinterpretAsUInt64(substring(SHA256(concat(unhex(@key), h)), 1, 8)) AS d1,
    reinterpretAsUInt64(substring(SHA256(concat(unhex(@key), h)), 9, 8)) AS d2
FROM
(
    SELECT first_leaf, kind, record_keys, length(leaf_hashes) = length(record_keys) AS ok,
        if(ok, leaf_hashes, arrayMap(x -> toFixedString('', 32), record_keys)) AS hashes
    FROM {{.MetaDB}}.log_leaf_runs
    WHERE first_leaf <= @last
)
ARRAY JOIN record_keys AS record_key, hashes AS h, range(length(record_keys)) AS i
WHERE leaf_index <= @last
{{- if .Filtered "sorted"}}
ORDER BY leaf_index
{{- end}}
