{{- /*
Fills the verdict store with the in-query engine's verdicts of the access
events of one chunk: the events of [from, to) whose subject hashes to
@bucket of @buckets. Run once, by a deployment upgrading to the verdict
store (see audit/store.BackfillVerdicts). ledger_position 0: any verdict a
writer stores later has a higher position and replaces it.
*/ -}}
{{define "event_filter"}}AND cityHash64(subject_id) % @buckets = @bucket{{end}}
INSERT INTO {{.DB}}.access_verdicts (event_id, occurred_at, occurred_ns, actor_id, actor_type, subject_id, action,
    data_categories, fields, recipient_id, recipient_type, purpose, legal_basis, consent_id, outcome, record_count,
    channel, jurisdiction, request_id, attr_keys, attr_values, ingested_at, ingest_seq,
    is_disclosure, verdict, verdict_consent_id, verdict_detail, missing_categories, is_violation,
    ledger_position, evaluated_at)
SELECT event_id, e_occurred_at, occurred_ns, actor_id, actor_type, subject_id, action,
    data_categories, fields, recipient_id, recipient_type, purpose, legal_basis, consent_id, outcome, record_count,
    channel, jurisdiction, request_id, e_attr_keys, e_attr_values, e_ingested_at, e_ingest_seq,
    is_disclosure, verdict, verdict_consent_id, verdict_detail, missing_categories, is_violation,
    toUInt64(0), now()
FROM ({{template "evaluated_verdicts" .}})
ANY INNER JOIN (
    SELECT event_id, occurred_at AS e_occurred_at, attr_keys AS e_attr_keys, attr_values AS e_attr_values,
        ingested_at AS e_ingested_at, ingest_seq AS e_ingest_seq
    FROM {{.DB}}.access_events FINAL
    WHERE occurred_at >= toDateTime(@from_s) AND occurred_at <= toDateTime(@to_s)
      AND occurred_ns >= @from_ns AND occurred_ns < @to_ns
      {{template "event_filter" .}}
) USING (event_id)
