-- privaudit's own bookkeeping, never visible to the ad-hoc SQL reader.
-- API tokens: only a SHA-256 of the secret is stored.
CREATE TABLE IF NOT EXISTS {{.MetaDB}}.api_tokens {{.OnCluster}} (
    token_id    String,
    name        String,
    role        String,
    secret_hash String,
    created_at  DateTime,
    revoked     UInt8,
    version     UInt64
) ENGINE = {{.Engine "api_tokens" "version"}}
ORDER BY token_id;

-- Ingested batches: one row per spool batch written, for operations and the
-- coming tamper-evidence hash chain (SPEC §7).
CREATE TABLE IF NOT EXISTS {{.MetaDB}}.ingest_batches {{.OnCluster}} (
    batch_id     String,
    kind         String,
    records      UInt64,
    inserted     UInt64,
    duplicates   UInt64,
    payload_sha256 String,
    written_at   DateTime
) ENGINE = {{.Engine "ingest_batches"}}
PARTITION BY toYYYYMM(written_at)
ORDER BY (kind, batch_id);
