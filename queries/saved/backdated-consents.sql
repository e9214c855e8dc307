-- title: Backdated consents
-- description: Consent events recorded long after the moment they claim to take
--   effect from (ingested_at well after effective_at). A backdated grant can
--   make earlier disclosures look covered; each one deserves its proof.
-- param: since Date                first day of ingestion (inclusive, UTC)
-- param: until Date                day after the last day of ingestion (exclusive, UTC)
-- param: min_days UInt64 = 7       at least this many days between effective_at and ingested_at
SELECT
    consent_event_id,
    consent_id,
    subject_id,
    recipient_id,
    status,
    effective_at,
    ingested_at,
    intDiv(toInt64(ingested_at) - toInt64(effective_at), 86400) AS days_backdated,
    method,
    proof_sha256
FROM {{.DB}}.consent_events FINAL
WHERE ingested_at >= @since AND ingested_at < @until
  AND toInt64(ingested_at) - toInt64(effective_at) >= toInt64(@min_days) * 86400
ORDER BY days_backdated DESC, consent_event_id
