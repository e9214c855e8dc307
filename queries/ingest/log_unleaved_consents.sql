-- Stored consent events without a leaf, in the recovery order (ingest_seq, key).
SELECT consent_event_id, consent_id, subject_id, recipient_id, status, purposes, data_categories, effective_at, effective_ns, has_expiry, expires_at, expires_ns, method, notice_version, jurisdiction, proof_sha256, attr_keys, attr_values, ingested_at, ingest_seq, batch_id
FROM {{.DB}}.consent_events FINAL
WHERE consent_event_id NOT IN (SELECT arrayJoin(record_keys) FROM {{.MetaDB}}.log_runs WHERE kind = 'consents')
ORDER BY ingest_seq, consent_event_id
