-- Consents (SPEC §4): the consent ledger of the period — every grant and
-- withdrawal effective in [from, to), with its scope and expiry, when it was
-- recorded, and whether it was backdated: recorded more than
-- @backdated_days days after its effective_at (a consent recorded long after
-- the fact deserves a second look). The period filter sits in a subquery:
-- the output aliases effective_at, expires_at, ingested_at (nanoseconds)
-- would otherwise shadow the DateTime columns of the same names.
-- Filters (recipient, data_category, purpose, jurisdiction) narrow the
-- consent events ("consent_filter" of verdicts.sql) and, for the expiring
-- and active figures, each consent's state at the end of the period.
SELECT
    consent_event_id, consent_id, subject_id, recipient_id, status, purposes, data_categories,
    effective_ns AS effective_at, if(has_expiry = 1, expires_ns, toInt64(0)) AS expires_at,
    toInt64(ingest_seq) AS ingested_at,
    toUInt8(toInt64(ingest_seq) - effective_ns > @backdated_days * 86400000000000) AS backdated,
    round((toInt64(ingest_seq) - effective_ns) / 86400000000000, 2) AS recorded_after_days,
    method, notice_version, jurisdiction, proof_sha256
FROM (
    SELECT *
    FROM {{.DB}}.consent_events FINAL
    WHERE effective_at >= toDateTime(@from_s) AND effective_at <= toDateTime(@to_s)
      AND effective_ns >= @from_ns AND effective_ns < @to_ns
      {{- template "consent_filter" .}}
)
ORDER BY effective_ns, ingest_seq

{{define "totals"}}
SELECT
    toFloat64(countIf(status = 'granted')) AS `Grants`,
    toFloat64(countIf(status = 'withdrawn')) AS `Withdrawals`,
    toFloat64(countIf(toInt64(ingest_seq) - effective_ns > @backdated_days * 86400000000000)) AS `Backdated`,
    toFloat64(uniqExact(subject_id)) AS `Customers`
FROM {{.DB}}.consent_events FINAL
WHERE effective_at >= toDateTime(@from_s) AND effective_at <= toDateTime(@to_s)
  AND effective_ns >= @from_ns AND effective_ns < @to_ns
  {{- template "consent_filter" .}}
{{end}}

{{define "state_at_end"}}
    SELECT
        consent_id,
        argMax(tuple(status, recipient_id, purposes, has_expiry, expires_ns),
               tuple(effective_ns, ingest_seq)) AS s_state
        {{- if .Filtered "data_category"}},
        argMax(data_categories, tuple(effective_ns, ingest_seq)) AS s_categories{{end}}
        {{- if .Filtered "jurisdiction"}},
        argMax(jurisdiction, tuple(effective_ns, ingest_seq)) AS s_jurisdiction{{end}}
    FROM {{.DB}}.consent_events FINAL
    WHERE effective_ns < @to_ns
    GROUP BY consent_id
{{end}}

{{- /* The filters on a consent's state at the end of the period (the
expiring and active figures count granted states, whose scope is their own). */ -}}
{{define "state_filter"}}
    {{- if .Filtered "recipient"}} AND tupleElement(s_state, 2) = @f_recipient{{end}}
    {{- if .Filtered "purpose"}} AND has(tupleElement(s_state, 3), @f_purpose){{end}}
    {{- if .Filtered "data_category"}} AND has(s_categories, @f_data_category){{end}}
    {{- if .Filtered "jurisdiction"}} AND s_jurisdiction = @f_jurisdiction{{end}}
{{- end}}

{{define "expiring"}}
SELECT
    toFloat64(countIf(tupleElement(s_state, 1) = 'granted' AND tupleElement(s_state, 4) = 1
        AND tupleElement(s_state, 5) >= @from_ns AND tupleElement(s_state, 5) < @to_ns)) AS `Grants expiring in the period`,
    toFloat64(countIf(tupleElement(s_state, 1) = 'granted'
        AND (tupleElement(s_state, 4) = 0 OR tupleElement(s_state, 5) >= @to_ns))) AS `Active consents at the end of the period`
FROM ({{template "state_at_end" .}})
WHERE tupleElement(s_state, 1) = 'granted' {{- template "state_filter" .}}
{{end}}

{{define "active"}}
SELECT tupleElement(s_state, 2) AS row_label, purpose AS col_label, toFloat64(count()) AS value
FROM ({{template "state_at_end" .}})
ARRAY JOIN tupleElement(s_state, 3) AS purpose
WHERE tupleElement(s_state, 1) = 'granted'
  AND (tupleElement(s_state, 4) = 0 OR tupleElement(s_state, 5) >= @to_ns)
  {{- if .Filtered "purpose"}} AND purpose = @f_purpose{{end}}
  {{- template "state_filter" .}}
GROUP BY row_label, col_label
{{end}}

{{define "by_recipient"}}
SELECT recipient_id AS row_label, status AS col_label, toFloat64(count()) AS value
FROM {{.DB}}.consent_events FINAL
WHERE effective_at >= toDateTime(@from_s) AND effective_at <= toDateTime(@to_s)
  AND effective_ns >= @from_ns AND effective_ns < @to_ns
  {{- template "consent_filter" .}}
GROUP BY row_label, col_label
{{end}}

{{- /* What each consent event of the period did to its consent, per day
(per week past 92 days, per month past 731 days; UTC): granted (a first
grant, or a grant after a withdrawal), narrowed (a grant whose purposes and
categories are within the consent's previous ones, not all of them),
other change (any other grant replacing a grant: widened, renewed, changed)
or withdrawn. Each event is compared with the consent's previous event in
(effective_ns, ingest_seq) order, which may precede the period; the
customer-ready subject-access says the same in words (consentChange in
reports/subject_access_customer.go; TestConsentChangesAgreeWithGo checks
that both agree). The period and filters select the events
counted, as in "totals": the columns add up to its Grants and Withdrawals. */ -}}
{{define "changes"}}
SELECT
    multiIf(@to_s - @from_s <= 92 * 86400, formatDateTime(toDateTime(intDiv(tupleElement(ev, 1), 1000000000)), '%F', 'UTC'),
            @to_s - @from_s <= 731 * 86400, concat('week of ', formatDateTime(toMonday(toDateTime(intDiv(tupleElement(ev, 1), 1000000000)), 'UTC'), '%F')),
            formatDateTime(toDateTime(intDiv(tupleElement(ev, 1), 1000000000)), '%Y-%m', 'UTC')) AS row_label,
    change AS col_label, toFloat64(count()) AS value
FROM (
    SELECT
        arraySort(groupArray(tuple(effective_ns, ingest_seq, status, purposes, data_categories, counted))) AS evs,
        arrayPushFront(arrayPopBack(evs), tuple(toInt64(0), toUInt64(0), '', emptyArrayString(), emptyArrayString(), toUInt8(0))) AS prevs,
        arrayMap((e, p) -> multiIf(
            tupleElement(e, 3) = 'withdrawn', 'withdrawn',
            tupleElement(p, 3) != 'granted', 'granted',
            hasAll(tupleElement(p, 4), tupleElement(e, 4)) AND hasAll(tupleElement(p, 5), tupleElement(e, 5))
              AND NOT (hasAll(tupleElement(e, 4), tupleElement(p, 4)) AND hasAll(tupleElement(e, 5), tupleElement(p, 5))), 'narrowed',
            'other change'), evs, prevs) AS changes
    FROM (
        SELECT consent_id, effective_ns, ingest_seq, status, purposes, data_categories,
            toUInt8(effective_at >= toDateTime(@from_s) AND effective_at <= toDateTime(@to_s)
                AND effective_ns >= @from_ns AND effective_ns < @to_ns
                {{- template "consent_filter" .}}) AS counted
        FROM {{.DB}}.consent_events FINAL
        WHERE effective_ns < @to_ns AND consent_id IN (
            SELECT consent_id FROM {{.DB}}.consent_events
            WHERE effective_at >= toDateTime(@from_s) AND effective_at <= toDateTime(@to_s))
    )
    GROUP BY consent_id
)
ARRAY JOIN evs AS ev, changes AS change
WHERE tupleElement(ev, 6) = 1
GROUP BY row_label, col_label
{{end}}
