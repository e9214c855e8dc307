-- Those of the access events of the external table lookup_ids (id String) that
-- are stored without a leaf, as stored, in the recovery order (ingest_seq,
-- key): records a replayed batch found already stored, which a crash or a
-- failed append between a batch's insert and its append left without one.
-- Their leaves are looked for in the runs of their own batches only.
SELECT event_id, occurred_at, occurred_ns, actor_id, actor_type, subject_id, action, data_categories, fields, recipient_id, recipient_type, purpose, legal_basis, consent_id, outcome, record_count, channel, jurisdiction, request_id, attr_keys, attr_values, ingested_at, ingest_seq, batch_id
FROM {{.DB}}.access_events FINAL
PREWHERE event_id IN (SELECT id FROM lookup_ids)
WHERE event_id NOT IN (
    SELECT arrayJoin(record_keys) FROM {{.MetaDB}}.log_runs
    WHERE kind = 'events' AND batch_id IN (SELECT batch_id FROM {{.DB}}.access_events PREWHERE event_id IN (SELECT id FROM lookup_ids)))
ORDER BY ingest_seq, event_id
