-- Violations (SPEC §4): the accesses — disclosures and other uses — that no
-- consent covered, and why: every event whose verdict is none of covered,
-- other_basis, denied. detail explains the verdict; missing_categories lists
-- the categories beyond the consent for category_not_covered.
SELECT
    event_id, occurred_ns AS occurred_at, subject_id, recipient_id, recipient_type, action,
    purpose, data_categories, verdict_consent_id AS consent_id, verdict, verdict_detail AS detail,
    missing_categories, toUInt8(is_disclosure) AS disclosure, toInt64(record_count) AS record_count,
    actor_id, channel, request_id
FROM ({{template "verdicts" .}})
WHERE is_violation
ORDER BY occurred_ns, event_id

{{define "totals"}}
SELECT
    toFloat64(count()) AS `Events evaluated`,
    toFloat64(countIf(is_violation)) AS `Violations`,
    toFloat64(countIf(is_violation AND is_disclosure)) AS `Violations that are disclosures`,
    toFloat64(uniqExactIf(subject_id, is_violation)) AS `Customers affected`,
    toFloat64(uniqExactIf(recipient_id, is_violation)) AS `Recipients involved`,
    toFloat64(sumIf(record_count, is_violation)) AS `Records involved`
FROM ({{template "verdicts" .}})
{{end}}

{{define "cells"}}
SELECT recipient_id, purpose, verdict, toFloat64(count()) AS value
FROM ({{template "verdicts" .}})
WHERE is_violation
GROUP BY recipient_id, purpose, verdict
{{end}}
