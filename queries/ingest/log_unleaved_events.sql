-- Stored access events without a leaf (stored by a run that stopped between
-- the insert and the append), in the recovery order (ingest_seq, key).
SELECT event_id, occurred_at, occurred_ns, actor_id, actor_type, subject_id, action, data_categories, fields, recipient_id, recipient_type, purpose, legal_basis, consent_id, outcome, record_count, channel, jurisdiction, request_id, attr_keys, attr_values, ingested_at, ingest_seq, batch_id
FROM {{.DB}}.access_events FINAL
WHERE event_id NOT IN (SELECT arrayJoin(record_keys) FROM {{.MetaDB}}.log_runs WHERE kind = 'events')
ORDER BY ingest_seq, event_id
