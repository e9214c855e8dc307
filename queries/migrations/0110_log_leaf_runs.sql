-- The proof log's leaves, one row per run instead of one per leaf (issue
-- 18's sealing budget): a row of log_leaf_runs holds leaf_count
-- consecutive leaves from first_leaf, all of one kind ('events' or
-- 'consents') and one batch, appended together: the i-th (from 0) is leaf
-- first_leaf + i, of the record whose key (event_id or consent_event_id) is
-- record_keys[i + 1], with the leaf hash leaf_hashes[i + 1] (SHA-256(0x00
-- || canonical encoding), see audit.StoredEvent). A run row is the commit
-- point of an append: the nodes it completes are written first.
CREATE TABLE IF NOT EXISTS {{.MetaDB}}.log_leaf_runs {{.OnCluster}} (
    first_leaf  UInt64,
    leaf_count  UInt32,
    kind        String,
    batch_id    String,
    record_keys Array(String),
    leaf_hashes Array(FixedString(32)),
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
    arraySort((k, i) -> i, groupArray(record_key), groupArray(leaf_index)),
    arraySort((h, i) -> i, groupArray(toFixedString(substring(unhex(leaf_hash), 1, 32), 32)), groupArray(leaf_index)),
    max(appended_at)
FROM {{.MetaDB}}.log_leaves
WHERE batch_id NOT IN (SELECT batch_id FROM {{.MetaDB}}.log_leaf_runs)
GROUP BY kind, batch_id
HAVING max(leaf_index) - min(leaf_index) + 1 = count() AND uniqExact(leaf_index) = count();

INSERT INTO {{.MetaDB}}.log_leaf_runs (first_leaf, leaf_count, kind, batch_id, record_keys, leaf_hashes, appended_at)
SELECT leaf_index, toUInt32(1), kind, batch_id, [record_key], [toFixedString(substring(unhex(leaf_hash), 1, 32), 32)], appended_at
FROM {{.MetaDB}}.log_leaves
WHERE (kind, batch_id) IN (
        SELECT kind, batch_id FROM {{.MetaDB}}.log_leaves GROUP BY kind, batch_id
        HAVING NOT (max(leaf_index) - min(leaf_index) + 1 = count() AND uniqExact(leaf_index) = count()))
  AND batch_id NOT IN (SELECT batch_id FROM {{.MetaDB}}.log_leaf_runs);

-- log_leaf_rows shows the log one row per leaf, as the statements that
-- look leaves up by record or index read it: leaf_index, kind, record_key,
-- leaf_hash (lowercase hex), batch_id, appended_at. A run whose keys and
-- hashes differ in number (altered by hand) shows no leaves: verify reports
-- them missing.
CREATE VIEW IF NOT EXISTS {{.MetaDB}}.log_leaf_rows {{.OnCluster}} AS
SELECT first_leaf + i AS leaf_index, kind, record_key, lower(hex(h)) AS leaf_hash, batch_id, appended_at
FROM
(
    SELECT first_leaf, kind, batch_id, record_keys, leaf_hashes, appended_at
    FROM {{.MetaDB}}.log_leaf_runs
    WHERE length(leaf_hashes) = length(record_keys)
)
ARRAY JOIN record_keys AS record_key, leaf_hashes AS h, range(length(record_keys)) AS i;
