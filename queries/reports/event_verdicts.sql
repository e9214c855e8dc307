-- The stored verdict of every access event in the period [from, to) (SPEC
-- §3), for tests and cross-checks against the reference implementation.
SELECT event_id, verdict, verdict_consent_id, verdict_detail, missing_categories
FROM ({{template "verdicts" .}})
ORDER BY event_id
