-- The keyed digest of the stored records, raw (never FINAL, so a copy
-- counts twice): with x = SHA-256(key || leaf hash recomputed from the
-- row), a key of 128 bits drawn at random for each run (@key, hex), the
-- sums modulo 2^64 of x's first and second 8 bytes, and the count. privaudit verify computes the same
-- sums over the leaves (verify_leaves.sql); equal sums and counts, with
-- every leaf's record key once (verify_digest_leaves.sql), say every
-- record is stored exactly once, as logged. Not knowing the keys, no one
-- can choose changed records whose terms sum to the logged ones.
--
-- Only the records of batches with a leaf up to @last, the leaves verify
-- checks, are summed ("logged"); "later" counts the others: batches logged
-- after the run began, or records written outside privaudit, which verify
-- tells apart with verify_unlogged.sql. Each table is summed in a branch
-- of its own: ClickHouse 18.16 refuses to union the IN column of two
-- tables ("non constant in source stream but must be constant in result").
SELECT sum(records), sum(d1), sum(d2), sum(later)
FROM
(
    SELECT
        countIf(logged) AS records,
        sumIf(reinterpretAsUInt64(substring(x, 1, 8)), logged) AS d1,
        sumIf(reinterpretAsUInt64(substring(x, 9, 8)), logged) AS d2,
        countIf(NOT logged) AS later
    FROM
    (
        SELECT batch_id IN (SELECT batch_id FROM {{.MetaDB}}.log_runs WHERE first_leaf <= @last) AS logged, SHA256(concat(unhex(@key), {{event_leaf_hash}})) AS x
        FROM {{.DB}}.access_events
    )
    UNION ALL
    SELECT
        countIf(logged) AS records,
        sumIf(reinterpretAsUInt64(substring(x, 1, 8)), logged) AS d1,
        sumIf(reinterpretAsUInt64(substring(x, 9, 8)), logged) AS d2,
        countIf(NOT logged) AS later
    FROM
    (
        SELECT batch_id IN (SELECT batch_id FROM {{.MetaDB}}.log_runs WHERE first_leaf <= @last) AS logged, SHA256(concat(unhex(@key), {{consent_leaf_hash}})) AS x
        FROM {{.DB}}.consent_events
    )
)
