{{- /*
`privaudit verify verdicts`, the independent side: the in-query engine's
verdict of every access event of [from, to) whose subject hashes to @bucket
of @buckets, ordered by event_id to merge with verify_stored.sql.
*/ -}}
{{define "event_filter"}}AND cityHash64(subject_id) % @buckets = @bucket{{end}}
SELECT event_id, verdict, verdict_consent_id, verdict_detail, missing_categories, is_disclosure, is_violation
FROM ({{template "evaluated_verdicts" .}})
ORDER BY event_id
