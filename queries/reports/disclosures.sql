-- Disclosures (SPEC §4): what was shared, with whom, under which consent.
-- The disclosures are the events the shared rule queries/rules/disclosure.sql
-- selects (SPEC §2.1). consent_id is the consent that
-- decided the verdict (the covering one, or the failing candidate).
{{define "event_filter"}}
          AND {{disclosure}}
{{end}}
SELECT
    event_id, occurred_ns AS occurred_at, subject_id, recipient_id, recipient_type, purpose,
    data_categories, toInt64(record_count) AS record_count, legal_basis,
    verdict_consent_id AS consent_id, verdict, verdict_detail AS detail,
    action, actor_id, channel, jurisdiction, request_id
FROM ({{template "verdicts" .}})
ORDER BY occurred_ns, event_id

{{define "totals"}}
SELECT
    toFloat64(count()) AS `Disclosures`,
    toFloat64(uniqExact(subject_id)) AS `Customers whose data was disclosed`,
    toFloat64(uniqExact(recipient_id)) AS `Recipients`,
    toFloat64(sum(record_count)) AS `Records disclosed`,
    toFloat64(countIf(verdict = 'covered')) AS `Covered by a consent`,
    toFloat64(countIf(verdict = 'other_basis')) AS `Other legal basis`,
    toFloat64(countIf(is_violation)) AS `Not covered (violations)`
FROM ({{template "verdicts" .}})
{{end}}

{{define "cells"}}
SELECT recipient_id, verdict, purpose, toFloat64(count()) AS value
FROM ({{template "verdicts" .}})
GROUP BY recipient_id, verdict, purpose
{{end}}
