-- The stored rows of consent event ?, every column, raw (no FINAL), with
-- the condition a PREWHERE as in prove_event.sql.
SELECT consent_event_id, consent_id, subject_id, recipient_id, status, purposes, data_categories, effective_at, effective_ns, has_expiry, expires_at, expires_ns, method, notice_version, jurisdiction, proof_sha256, attr_keys, attr_values, ingested_at, ingest_seq, batch_id
FROM {{.DB}}.consent_events PREWHERE consent_event_id = ?
