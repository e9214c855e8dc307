-- Processing inventory (SPEC §4, records of processing): the processing
-- actually observed in the period — one row per purpose × data category ×
-- recipient × legal basis, with volumes and how many of those accesses no
-- consent covered. The detail and its summaries read the stored verdicts.
-- Its rows are per data category: a data_category filter keeps that
-- category's rows only, not the other categories of the same accesses.
SELECT
    purpose, data_category, recipient_id, recipient_type, legal_basis,
    toInt64(count()) AS events, toInt64(uniqExact(subject_id)) AS subjects,
    toInt64(sum(record_count)) AS records,
    arraySort(groupUniqArray(action)) AS actions,
    min(occurred_ns) AS first_seen, max(occurred_ns) AS last_seen,
    toInt64(countIf(is_violation)) AS violations
FROM ({{template "verdicts" .}})
ARRAY JOIN arrayDistinct(data_categories) AS data_category
{{if .Filtered "data_category"}}WHERE data_category = @f_data_category{{end}}
GROUP BY purpose, data_category, recipient_id, recipient_type, legal_basis
ORDER BY purpose, data_category, recipient_id, recipient_type, legal_basis

{{define "totals"}}
SELECT
    toFloat64(uniqExact(purpose)) AS `Purposes`,
    toFloat64(uniqExact(recipient_id)) AS `Recipients (internal included)`,
    toFloat64(count()) AS `Accesses`,
    toFloat64(uniqExact(subject_id)) AS `Customers`
FROM ({{template "verdicts" .}})
{{end}}

{{define "cells"}}
SELECT purpose, legal_basis,
    {{if .Filtered "data_category"}}[@f_data_category]{{else}}arrayDistinct(data_categories){{end}} AS categories,
    toFloat64(count()) AS value
FROM ({{template "verdicts" .}})
GROUP BY purpose, legal_basis, categories
{{end}}
