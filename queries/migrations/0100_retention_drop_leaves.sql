-- Sealed retention drops (issue 18): the proof log leaves each drop of an
-- access_events or consent_events partition removed, stored before its
-- intent is recorded in retention_drops. One row per run of consecutive
-- leaf indexes, first_leaf through last_leaf inclusive; kind is the
-- records' kind in log_leaves ('events' or 'consents'). A drop of any
-- other table has no rows. The runs, in first_leaf order, are what the
-- drop's signature (retention_drops.signature, audit.DropSeal) covers
-- through their SHA-256.
CREATE TABLE IF NOT EXISTS {{.MetaDB}}.retention_drop_leaves {{.OnCluster}} (
    drop_id    String,
    kind       String,
    first_leaf UInt64,
    last_leaf  UInt64
) ENGINE = {{.Engine "retention_drop_leaves"}}
ORDER BY (drop_id, first_leaf);
