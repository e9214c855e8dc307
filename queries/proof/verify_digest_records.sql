-- The keyed digest of the stored records, raw (never FINAL, so a copy
-- counts twice): the sum, modulo 2^64, of sipHash64(key || leaf hash
-- recomputed from the row), under two keys drawn at random for each run
-- (@key1, @key2, hex), and the count. privaudit verify computes the same
-- sums over the leaves (verify_leaves.sql); equal sums and counts, with
-- every leaf's record key once (verify_digest_leaves.sql), say every
-- record is stored exactly once, as logged. Not knowing the keys, no one
-- can choose changed records whose terms sum to the logged ones.
--
-- Only the records of batches with a leaf up to @last, the leaves verify
-- checks, are summed ("logged"); "later" counts the others: batches logged
-- after the run began, or records written outside privaudit, which verify
-- tells apart with verify_unlogged.sql.
SELECT sum(records), sum(d1), sum(d2), sum(later)
FROM
(
    SELECT
        countIf(logged) AS records,
        sumIf(sipHash64(concat(unhex(@key1), h)), logged) AS d1,
        sumIf(sipHash64(concat(unhex(@key2), h)), logged) AS d2,
        countIf(NOT logged) AS later
    FROM
    (
        SELECT batch_id IN (SELECT batch_id FROM {{.MetaDB}}.log_leaves WHERE leaf_index <= @last) AS logged, {{event_leaf_hash}} AS h
        FROM {{.DB}}.access_events
    )
    UNION ALL
    SELECT
        countIf(logged) AS records,
        sumIf(sipHash64(concat(unhex(@key1), h)), logged) AS d1,
        sumIf(sipHash64(concat(unhex(@key2), h)), logged) AS d2,
        countIf(NOT logged) AS later
    FROM
    (
        SELECT batch_id IN (SELECT batch_id FROM {{.MetaDB}}.log_leaves WHERE leaf_index <= @last) AS logged, {{consent_leaf_hash}} AS h
        FROM {{.DB}}.consent_events
    )
)
