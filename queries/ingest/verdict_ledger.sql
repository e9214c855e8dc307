-- The consent ledger of a set of subjects (external table `verdict_ids`,
-- id String): every consent event stored for them, read FINAL so a replayed
-- copy never counts twice. consent_events is ordered by subject_id, so only
-- their granules are read.
SELECT consent_event_id, consent_id, subject_id, recipient_id, status, purposes, data_categories,
       effective_ns, has_expiry, expires_ns, ingest_seq
FROM {{.DB}}.consent_events FINAL
WHERE subject_id IN (SELECT id FROM verdict_ids)
