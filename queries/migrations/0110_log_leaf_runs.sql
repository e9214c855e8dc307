-- The proof log's leaves, one row per run instead of one per leaf (issue
-- 18's sealing budget): a row of log_leaf_runs holds leaf_count
-- consecutive leaves from first_leaf, all of one kind ('events' or
-- 'consents') and one batch, appended together. record_keys holds the
-- records' keys (event_id or consent_event_id) and leaf_hashes their leaf
-- hashes (lowercase hex of SHA-256(0x00 || canonical encoding), see
-- audit.StoredEvent), each joined by NUL bytes in leaf order: the i-th
-- (from 0) is leaf first_leaf + i. Two plain strings per batch cost the
-- writer and ClickHouse next to nothing; the rule fragments run_keys and
-- run_hashes (queries/rules) split them. A run row is the commit point of
-- an append: the nodes it completes are written first.
CREATE TABLE IF NOT EXISTS {{.MetaDB}}.log_leaf_runs {{.OnCluster}} (
    first_leaf  UInt64,
    leaf_count  UInt32,
    kind        String,
    batch_id    String,
    record_keys String,
    leaf_hashes String,
    appended_at DateTime
) ENGINE = {{.Engine "log_leaf_runs"}}
ORDER BY first_leaf;

-- The leaves of a log written before this migration, copied (migrations
-- run before the writers start). A batch whose leaves are consecutive
-- becomes one run; the leaves of any other batch (a log altered by hand)
-- are copied one run per leaf, so verify still sees them as they were.
-- log_leaves keeps its rows and is no longer read or written.
INSERT INTO {{.MetaDB}}.log_leaf_runs (first_leaf, leaf_count, kind, batch_id, record_keys, leaf_hashes, appended_at)
SELECT
    min(leaf_index),
    toUInt32(count()),
    kind,
    batch_id,
    arrayStringConcat(arraySort((k, i) -> i, groupArray(record_key), groupArray(leaf_index)), '\0'),
    arrayStringConcat(arraySort((h, i) -> i, groupArray(lower(leaf_hash)), groupArray(leaf_index)), '\0'),
    max(appended_at)
FROM {{.MetaDB}}.log_leaves
WHERE batch_id NOT IN (SELECT batch_id FROM {{.MetaDB}}.log_leaf_runs)
GROUP BY kind, batch_id
HAVING max(leaf_index) - min(leaf_index) + 1 = count() AND uniqExact(leaf_index) = count();

INSERT INTO {{.MetaDB}}.log_leaf_runs (first_leaf, leaf_count, kind, batch_id, record_keys, leaf_hashes, appended_at)
SELECT leaf_index, toUInt32(1), kind, batch_id, record_key, lower(leaf_hash), appended_at
FROM {{.MetaDB}}.log_leaves
WHERE (kind, batch_id) IN (
        SELECT kind, batch_id FROM {{.MetaDB}}.log_leaves GROUP BY kind, batch_id
        HAVING NOT (max(leaf_index) - min(leaf_index) + 1 = count() AND uniqExact(leaf_index) = count()))
  AND batch_id NOT IN (SELECT batch_id FROM {{.MetaDB}}.log_leaf_runs);

-- log_leaf_rows shows the log one row per leaf, as the statements that
-- look leaves up by record or index read it: leaf_index, kind, record_key,
-- leaf_hash (lowercase hex), batch_id, appended_at. A run whose keys and
-- hashes differ in number (altered by hand) shows no leaves: verify reports
-- them.
CREATE VIEW IF NOT EXISTS {{.MetaDB}}.log_leaf_rows {{.OnCluster}} AS
SELECT first_leaf + i AS leaf_index, kind, record_key, h AS leaf_hash, batch_id, appended_at
FROM
(
    SELECT first_leaf, kind, batch_id, appended_at, {{run_keys}} AS keys, {{run_hashes}} AS hashes
    FROM {{.MetaDB}}.log_leaf_runs
    WHERE length({{run_keys}}) = length({{run_hashes}})
)
ARRAY JOIN keys AS record_key, hashes AS h, range(length(keys)) AS i;
