-- Recipients (SPEC §4): the register of third parties — one row per
-- recipient (and recipient type) that received disclosures in the period:
-- the categories received, purposes, volumes, first and last seen, and the
-- consent coverage. covered_pct is the share of the recipient's disclosures
-- relying on consent that a consent covered (100 when none relied on it);
-- violations counts its disclosures no consent covered.
{{define "event_filter"}}
          AND {{disclosure}}
{{end}}
SELECT
    recipient_id, recipient_type,
    arraySort(groupUniqArrayArray(data_categories)) AS data_categories,
    arraySort(groupUniqArray(purpose)) AS purposes,
    arraySort(groupUniqArray(legal_basis)) AS legal_bases,
    toInt64(count()) AS events,
    toInt64(uniqExact(subject_id)) AS subjects,
    toInt64(sum(record_count)) AS records,
    min(occurred_ns) AS first_seen,
    max(occurred_ns) AS last_seen,
    if(countIf(legal_basis = 'consent') = 0, 100.0,
       round(100 * countIf(verdict = 'covered') / countIf(legal_basis = 'consent'), 2)) AS covered_pct,
    toInt64(countIf(is_violation)) AS violations
FROM ({{template "verdicts" .}})
GROUP BY recipient_id, recipient_type
ORDER BY events DESC, recipient_id, recipient_type

{{define "totals"}}
SELECT
    toFloat64(uniqExact(recipient_id)) AS `Recipients`,
    toFloat64(count()) AS `Disclosures`,
    toFloat64(uniqExact(subject_id)) AS `Customers whose data was disclosed`,
    toFloat64(sum(record_count)) AS `Records disclosed`,
    toFloat64(countIf(is_violation)) AS `Not covered (violations)`
FROM ({{template "verdicts" .}})
{{end}}

{{define "cells"}}
SELECT recipient_id, verdict, data_categories, toFloat64(count()) AS value
FROM ({{template "verdicts" .}})
GROUP BY recipient_id, verdict, data_categories
{{end}}
