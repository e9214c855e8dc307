-- Subject access (SPEC §4, GDPR Art. 15): everything about one customer
-- (@subject_id) — each access and disclosure of the period individually, with
-- its recipient, date and purpose, and the customer's consent history up to
-- the end of the period (record_type consent, effective_at in occurred_at).
-- Repeated identical disclosures (same recipient, purpose and categories) are
-- summarised on each of their rows as an accounting of disclosures does:
-- times_disclosed, first_disclosed, last_disclosed within the period.
-- Filters narrow the accesses (all of them) and the consent history
-- (recipient, data_category, purpose, jurisdiction: "consent_filter" of
-- verdicts.sql); recipient_type, verdict and actor leave the consent
-- history whole.
-- (materialize(): ClickHouse 18.16 refuses UNION ALL of a constant with a
-- column.)
{{define "event_filter"}}
          AND subject_id = @subject_id
{{end}}
{{define "consent_scope"}}AND subject_id = @subject_id{{end}}
{{template "subject_access_records" .}}
ORDER BY {{template "subject_access_order" .}}

{{- /*
The customer's records, unordered: the detail above and the customer-ready
form ("customer" below) read the same rows in the same order.
*/ -}}
{{define "subject_access_order"}}occurred_at, record_type, event_id{{end}}

{{define "subject_access_records"}}
SELECT *
FROM (
    SELECT
        materialize('access') AS record_type, event_id, occurred_ns AS occurred_at, action, actor_id, actor_type,
        recipient_id, recipient_type, purpose, data_categories, legal_basis,
        v_consent_id AS consent_id, verdict, outcome, toUInt8(is_disclosure) AS disclosure,
        toInt64(record_count) AS record_count, channel,
        times_disclosed, first_disclosed, last_disclosed, materialize(toInt64(0)) AS expires_at
    FROM (
        SELECT
            event_id, occurred_ns, action, actor_id, actor_type, recipient_id, recipient_type,
            purpose, data_categories, legal_basis, verdict_consent_id AS v_consent_id, verdict,
            outcome, is_disclosure, record_count, channel,
            toString(arraySort(data_categories)) AS g_cats, is_disclosure AS g_disc
        FROM ({{template "verdicts" .}})
    )
    ANY LEFT JOIN (
        SELECT
            recipient_id, purpose, toString(arraySort(data_categories)) AS g_cats, toUInt8(1) AS g_disc,
            toInt64(count()) AS times_disclosed, min(occurred_ns) AS first_disclosed,
            max(occurred_ns) AS last_disclosed
        FROM ({{template "verdicts" .}})
        WHERE is_disclosure
        GROUP BY recipient_id, purpose, g_cats
    ) USING (recipient_id, purpose, g_cats, g_disc)
    UNION ALL
    SELECT
        materialize('consent') AS record_type, consent_event_id AS event_id, effective_ns AS occurred_at,
        concat('consent_', status) AS action, materialize('') AS actor_id, materialize('') AS actor_type,
        recipient_id, materialize('') AS recipient_type, arrayStringConcat(purposes, ';') AS purpose,
        data_categories, materialize('consent') AS legal_basis, consent_id, materialize('') AS verdict, materialize('') AS outcome,
        materialize(toUInt8(0)) AS disclosure, materialize(toInt64(0)) AS record_count, method AS channel,
        materialize(toInt64(0)) AS times_disclosed, materialize(toInt64(0)) AS first_disclosed, materialize(toInt64(0)) AS last_disclosed,
        if(has_expiry = 1, expires_ns, toInt64(0)) AS expires_at
    FROM {{.DB}}.consent_events FINAL
    WHERE subject_id = @subject_id AND effective_ns < @to_ns
      {{- template "consent_filter" .}}
)
{{end}}

{{define "totals"}}
SELECT
    toFloat64(count()) AS `Accesses`,
    toFloat64(countIf(is_disclosure)) AS `Disclosures`,
    toFloat64(uniqExactIf(recipient_id, is_disclosure)) AS `Recipients of disclosures`,
    toFloat64(countIf(is_violation)) AS `Accesses not covered (violations)`,
    toFloat64(uniqExact(actor_id)) AS `Actors`
FROM ({{template "verdicts" .}})
{{end}}

{{define "by_recipient"}}
SELECT recipient_id AS row_label, purpose AS col_label, toFloat64(count()) AS value
FROM ({{template "verdicts" .}})
GROUP BY row_label, col_label
{{end}}

{{define "consents"}}
SELECT recipient_id AS row_label, status AS col_label, toFloat64(count()) AS value
FROM {{.DB}}.consent_events FINAL
WHERE subject_id = @subject_id AND effective_ns < @to_ns
  {{- template "consent_filter" .}}
GROUP BY row_label, col_label
{{end}}

{{- /*
The customer-ready form (report subject-access-customer): the same records
in the same order, with what a customer's copy needs and no more. Staff
are named only on request (@staff_names = 'yes') and only employees; every
consent a row names comes with the date the customer first gave it
(consent_given_at, from the customer's own consents only) and, on consent
rows, whether that state ran out before its next change and the period's
end (expired). reports/subject_access_customer.go puts it in plain words.
*/ -}}
{{define "customer"}}
SELECT
    record_type, occurred_at, action,
    if(@staff_names = 'yes' AND actor_type = 'employee', actor_id, '') AS staff_name, actor_type,
    recipient_id, recipient_type, purpose, data_categories, legal_basis, consent_id, verdict,
    disclosure, record_count, times_disclosed, expires_at,
    toUInt8(action = 'consent_granted' AND expires_at != 0 AND expires_at <= @to_ns
        AND NOT arrayExists((c, t, e) -> c > t AND c < e,
            consent_changes, replicate(occurred_at, consent_changes), replicate(expires_at, consent_changes))) AS expired,
    consent_given_at
FROM ({{template "subject_access_records" .}})
ANY LEFT JOIN (
    SELECT consent_id, min(effective_ns) AS consent_given_at, groupArray(effective_ns) AS consent_changes
    FROM {{.DB}}.consent_events FINAL
    WHERE subject_id = @subject_id AND effective_ns < @to_ns
    GROUP BY consent_id
) USING (consent_id)
ORDER BY {{template "subject_access_order" .}}
{{end}}

{{define "customer_totals"}}
SELECT
    toFloat64(count()) AS `Uses of your data in the period`,
    toFloat64(countIf(is_disclosure)) AS `Times your data was shared with another organisation`,
    toFloat64(uniqExactIf(recipient_id, is_disclosure)) AS `Organisations that received your data`,
    toFloat64(countIf(is_violation)) AS `Uses that needed your consent and did not have it`
FROM ({{template "verdicts" .}})
{{end}}

{{define "customer_recipients"}}
SELECT recipient_id AS row_label, 'Times shared' AS col_label, toFloat64(count()) AS value
FROM ({{template "verdicts" .}})
WHERE is_disclosure
GROUP BY row_label, col_label
{{end}}
