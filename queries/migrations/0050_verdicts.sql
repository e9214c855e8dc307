-- The verdict store (issue 15): each access event's SPEC §3 verdict as a
-- stored fact, maintained as records arrive, so reports read verdicts
-- instead of re-deriving the consent ledger.
--
-- access_verdicts holds one row per access event: the event's columns as
-- stored in access_events, its verdict, and ledger_position, the time (Unix
-- nanoseconds) at which the consent ledger it was evaluated against was
-- read; the verdict reflects every consent event stored before it. The
-- writers add a row when they store an event, and a new row with a higher
-- position whenever a consent event that can change the verdict is stored;
-- ReplacingMergeTree keeps the highest position, so read it with FINAL.
-- Ordered by subject_id: one customer's history reads only that customer's
-- rows, and a subject's events, consents and verdicts can share a shard.
-- Granules of 128 rows (not 8192): a re-evaluation or lookup touching k
-- scattered subjects reads about 128·k rows, not most of the table.
CREATE TABLE IF NOT EXISTS {{.DB}}.access_verdicts {{.OnCluster}} (
    event_id           String,
    occurred_at        DateTime,
    occurred_ns        Int64,
    actor_id           String,
    actor_type         String,
    subject_id         String,
    action             String,
    data_categories    Array(String),
    fields             Array(String),
    recipient_id       String,
    recipient_type     String,
    purpose            String,
    legal_basis        String,
    consent_id         String,
    outcome            String,
    record_count       UInt64,
    channel            String,
    jurisdiction       String,
    request_id         String,
    attr_keys          Array(String),
    attr_values        Array(String),
    ingested_at        DateTime,
    ingest_seq         UInt64,
    is_disclosure      UInt8,
    verdict            String,
    verdict_consent_id String,
    verdict_detail     String,
    missing_categories Array(String),
    is_violation       UInt8,
    ledger_position    UInt64,
    evaluated_at       DateTime
) ENGINE = {{.Engine "access_verdicts" "ledger_position"}}
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (subject_id, occurred_ns, event_id)
SETTINGS index_granularity = 128;

-- Which subjects' rows hold a consent: one row per (consent_id, subject_id)
-- of its consent events, and of access events naming it for another
-- subject. The writers look a consent's subjects up here by consent_id, so
-- evaluating or re-evaluating reads only those subjects' rows.
CREATE TABLE IF NOT EXISTS {{.MetaDB}}.consent_subjects {{.OnCluster}} (
    consent_id String,
    subject_id String
) ENGINE = {{.Engine "consent_subjects"}}
ORDER BY (consent_id, subject_id);

INSERT INTO {{.MetaDB}}.consent_subjects (consent_id, subject_id)
SELECT DISTINCT consent_id, subject_id FROM {{.DB}}.consent_events;

INSERT INTO {{.MetaDB}}.consent_subjects (consent_id, subject_id)
SELECT DISTINCT consent_id, subject_id FROM {{.DB}}.access_events WHERE consent_id != '';
