-- The stored rows of access event ?, every column, raw (no FINAL): a
-- record stored twice shows twice. The condition is a PREWHERE because
-- ClickHouse 18.16 does not move it there itself when every column is
-- selected, and then reads every column of every row (3-4 s at 10M
-- events, against 0.4 s).
SELECT event_id, occurred_at, occurred_ns, actor_id, actor_type, subject_id, action, data_categories, fields, recipient_id, recipient_type, purpose, legal_basis, consent_id, outcome, record_count, channel, jurisdiction, request_id, attr_keys, attr_values, ingested_at, ingest_seq, batch_id
FROM {{.DB}}.access_events PREWHERE event_id = ?
