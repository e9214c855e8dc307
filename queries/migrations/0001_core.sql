-- Core tables: access events and consent events (SPEC §2), officer-visible.
-- Timestamps are kept twice: a DateTime (UTC, seconds) for partitioning,
-- display and ad-hoc SQL, and Int64 Unix nanoseconds for the exact
-- comparisons of the consent verdict rules (ClickHouse 18.16 has no DateTime64).
-- ReplacingMergeTree keys end with the idempotency key, so a replayed batch
-- collapses on merge; queries that count read with FINAL.
CREATE TABLE IF NOT EXISTS {{.DB}}.access_events {{.OnCluster}} (
    event_id        String,
    occurred_at     DateTime,
    occurred_ns     Int64,
    actor_id        String,
    actor_type      String,
    subject_id      String,
    action          String,
    data_categories Array(String),
    fields          Array(String),
    recipient_id    String,
    recipient_type  String,
    purpose         String,
    legal_basis     String,
    consent_id      String,
    outcome         String,
    record_count    UInt64,
    channel         String,
    jurisdiction    String,
    request_id      String,
    attr_keys       Array(String),
    attr_values     Array(String),
    ingested_at     DateTime,
    ingest_seq      UInt64,
    batch_id        String
) ENGINE = {{.Engine "access_events"}}
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (recipient_id, occurred_at, event_id);

CREATE TABLE IF NOT EXISTS {{.DB}}.consent_events {{.OnCluster}} (
    consent_event_id String,
    consent_id       String,
    subject_id       String,
    recipient_id     String,
    status           String,
    purposes         Array(String),
    data_categories  Array(String),
    effective_at     DateTime,
    effective_ns     Int64,
    has_expiry       UInt8,
    expires_at       DateTime,
    expires_ns       Int64,
    method           String,
    notice_version   String,
    jurisdiction     String,
    proof_sha256     String,
    attr_keys        Array(String),
    attr_values      Array(String),
    ingested_at      DateTime,
    ingest_seq       UInt64,
    batch_id         String
) ENGINE = {{.Engine "consent_events"}}
PARTITION BY toYYYYMM(effective_at)
ORDER BY (subject_id, recipient_id, consent_id, effective_ns, consent_event_id);
