-- The stored access events of a set of event_ids (external table
-- `verdict_ids`, id String), as first stored: the events a retried or
-- replayed batch found already stored but without a stored verdict.
SELECT event_id, occurred_ns, actor_id, actor_type, subject_id, action, data_categories, fields,
       recipient_id, recipient_type, purpose, legal_basis, consent_id, outcome, record_count, channel,
       jurisdiction, request_id, attr_keys, attr_values, ingest_seq
FROM {{.DB}}.access_events FINAL
WHERE event_id IN (SELECT id FROM verdict_ids)
