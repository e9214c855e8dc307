-- The stored verdicts a consent event may change (SPEC §3): the events of a
-- set of subjects (external table `lookup_ids`, id String) that occurred
-- at or after the earliest effective_at among the new consent events
-- (?: Unix seconds, for partition pruning; ?: Unix nanoseconds). The writer
-- narrows them further: to events that need a consent at all
-- (audit.Event.NeedsConsent), by consent_id and (subject_id, recipient_id).
-- access_verdicts is ordered by subject_id, so only those subjects'
-- granules are read.
SELECT event_id, occurred_ns, actor_id, actor_type, subject_id, action, data_categories, fields,
       recipient_id, recipient_type, purpose, legal_basis, consent_id, outcome, record_count, channel,
       jurisdiction, request_id, attr_keys, attr_values, ingest_seq,
       verdict, verdict_consent_id, verdict_detail, missing_categories
FROM {{.DB}}.access_verdicts FINAL
WHERE subject_id IN (SELECT id FROM lookup_ids)
  AND occurred_at >= toDateTime(?) AND occurred_ns >= ?
