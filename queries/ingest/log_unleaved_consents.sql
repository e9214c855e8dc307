-- Those of the consent events of the external table lookup_ids (id String) that
-- are stored without a leaf, as stored, in the recovery order (ingest_seq,
-- key): records a replayed batch found already stored, which a crash or a
-- failed append between a batch's insert and its append left without one.
-- Their leaves are looked for in the runs of their own batches only.
SELECT consent_event_id, consent_id, subject_id, recipient_id, status, purposes, data_categories, effective_at, effective_ns, has_expiry, expires_at, expires_ns, method, notice_version, jurisdiction, proof_sha256, attr_keys, attr_values, ingested_at, ingest_seq, batch_id
FROM {{.DB}}.consent_events FINAL
PREWHERE consent_event_id IN (SELECT id FROM lookup_ids)
WHERE consent_event_id NOT IN (
    SELECT arrayJoin(record_keys) FROM {{.MetaDB}}.log_runs
    WHERE kind = 'consents' AND batch_id IN (SELECT batch_id FROM {{.DB}}.consent_events PREWHERE consent_event_id IN (SELECT id FROM lookup_ids)))
ORDER BY ingest_seq, consent_event_id
