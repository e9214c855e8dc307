-- The proof log (issue 18): every stored access event and consent event is
-- a leaf of one append-only RFC 6962 Merkle tree, in ingest order.
--
-- log_leaves holds one row per leaf: its index in the tree, the record's
-- kind ('events' or 'consents') and idempotency key (event_id or
-- consent_event_id), its leaf hash (lowercase hex of SHA-256(0x00 ||
-- canonical encoding), see audit.StoredEvent) and the batch that stored
-- it. A leaf row is the commit point of an append: the nodes it completes
-- are written first.
CREATE TABLE IF NOT EXISTS {{.MetaDB}}.log_leaves {{.OnCluster}} (
    leaf_index  UInt64,
    kind        String,
    record_key  String,
    leaf_hash   String,
    batch_id    String,
    appended_at DateTime
) ENGINE = {{.Engine "log_leaves"}}
ORDER BY leaf_index;

-- log_nodes holds interior nodes of the tree (level >= 1; level 0 is
-- log_leaves) as they become complete: the node at (level, node_index)
-- covers leaves [node_index·2^level, (node_index+1)·2^level). Which levels
-- are stored, and how the others are read, is proof.TileHeight's rule
-- (audit/proof/tiles.go). A node written by an
-- append whose leaves were never committed can be rewritten by a later one:
-- the highest version wins, so read with argMax(hash, version) or FINAL.
CREATE TABLE IF NOT EXISTS {{.MetaDB}}.log_nodes {{.OnCluster}} (
    level      UInt8,
    node_index UInt64,
    hash       String,
    version    UInt64
) ENGINE = {{.Engine "log_nodes" "version"}}
ORDER BY (level, node_index);

-- log_checkpoints holds every signed checkpoint: a C2SP tlog-checkpoint
-- (origin, tree size, base64 root hash) signed as a note with the proof
-- key, which is kept outside ClickHouse. Copies exported off the machine
-- are what make a rewrite of history detectable.
CREATE TABLE IF NOT EXISTS {{.MetaDB}}.log_checkpoints {{.OnCluster}} (
    tree_size UInt64,
    root_hash String,
    note      String,
    signed_at DateTime
) ENGINE = {{.Engine "log_checkpoints"}}
ORDER BY tree_size;
