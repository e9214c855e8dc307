{{- /*
`privaudit verify verdicts`, second look: the in-query engine's verdict of
the access events @ids (sorted) of [from, to) that differed in the first
pass, ordered by event_id to merge with recheck_stored.sql.
*/ -}}
{{define "event_filter"}}AND has(@ids, event_id){{end}}
SELECT event_id, verdict, verdict_consent_id, verdict_detail, missing_categories, is_disclosure, is_violation
FROM ({{template "evaluated_verdicts" .}})
ORDER BY event_id
