-- The consent ledger of a set of subjects (external table `lookup_ids`,
-- id String): every consent event stored for them. consent_events is
-- ordered by subject_id, so only their granules are read. Not FINAL, which
-- costs five times the read here: a replayed copy of a consent event is
-- identical, and the writer keeps one per consent_event_id (audit.Ledger).
SELECT consent_event_id, consent_id, subject_id, recipient_id, status, purposes, data_categories,
       effective_ns, has_expiry, expires_ns, ingest_seq
FROM {{.DB}}.consent_events
WHERE subject_id IN (SELECT id FROM lookup_ids)
