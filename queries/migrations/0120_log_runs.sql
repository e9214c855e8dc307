-- The proof log's runs of leaves, as in log_leaf_runs (migration 0110),
-- in granules of 8 runs instead of 8192. A run holds a batch's leaves (up
-- to tens of thousands), so with the default granule the whole log was one
-- granule, and every read of a range of leaves (an inclusion path's tile,
-- the writer's recovery) read every run: 2.5 s at 10M leaves, growing with
-- the log. log_leaf_runs keeps its rows and is no longer read or written.
CREATE TABLE IF NOT EXISTS {{.MetaDB}}.log_runs {{.OnCluster}} (
    first_leaf  UInt64,
    leaf_count  UInt32,
    kind        String,
    batch_id    String,
    record_keys Array(String),
    leaf_hashes Array(FixedString(32)),
    appended_at DateTime
) ENGINE = {{.Engine "log_runs"}}
ORDER BY first_leaf
SETTINGS index_granularity = 8;

-- The runs of a log written before, copied as they are (migrations run
-- before the writers start); a run already copied is not copied again.
INSERT INTO {{.MetaDB}}.log_runs (first_leaf, leaf_count, kind, batch_id, record_keys, leaf_hashes, appended_at)
SELECT first_leaf, leaf_count, kind, batch_id, record_keys, leaf_hashes, appended_at
FROM {{.MetaDB}}.log_leaf_runs
WHERE (first_leaf, batch_id) NOT IN (SELECT first_leaf, batch_id FROM {{.MetaDB}}.log_runs);

-- log_leaf_rows, as migration 0110 defines it, over log_runs.
DROP TABLE IF EXISTS {{.MetaDB}}.log_leaf_rows {{.OnCluster}};

CREATE VIEW IF NOT EXISTS {{.MetaDB}}.log_leaf_rows {{.OnCluster}} AS
SELECT first_leaf + i AS leaf_index, kind, record_key, lower(hex(h)) AS leaf_hash, batch_id, appended_at
FROM
(
    SELECT first_leaf, kind, batch_id, record_keys, leaf_hashes, appended_at
    FROM {{.MetaDB}}.log_runs
    WHERE length(leaf_hashes) = length(record_keys)
)
ARRAY JOIN record_keys AS record_key, leaf_hashes AS h, range(length(record_keys)) AS i;
