{{- /*
The verdicts of access events (SPEC §3), shared by every report that needs
them. A report includes them as a subquery:

    FROM ({{template "verdicts" .}})

and narrows the events by redefining "event_filter" (a fragment starting
with AND, over access_events columns, which access_verdicts shares).
Parameters, always bound: @from_s, @to_s (period bounds in Unix seconds,
floor, for partition pruning), @from_ns, @to_ns (the exact period
[from, to) in Unix nanoseconds) and, for "verdicts", the filters given
(@f_NAME, see "access_filter" below). Both templates below return the same
columns: the event's (as stored in access_events, without occurred_at and
the ingest bookkeeping), is_disclosure, verdict, verdict_consent_id,
verdict_detail, missing_categories and is_violation.

"verdicts" reads the stored verdicts, {{.DB}}.access_verdicts FINAL (see
queries/migrations/0050_verdicts.sql): each event's verdict as the writers
evaluated it, against the consent ledger at its ledger_position. Reports
read these; the runner waits first until the verdicts reflect every record
accepted before the run started.

"evaluated_verdicts" is the consent verdict engine: it evaluates every
event of the period in the query, from access_events and the whole consent
ledger. It is the independent path `privaudit verify verdicts` and the
backfill compare the stored verdicts with; no report reads it.

How the engine works, on ClickHouse 18.16 (no ASOF JOIN, no window
functions) and current releases alike, without grouping or multiplying the
events:

1. consent_history: per consent_id, its events sorted by (effective_ns,
   ingest_seq), each with next_eff, the effective_ns of the consent's next
   event (max Int64 for the last). An event is the consent's state at t
   exactly when effective_ns <= t < next_eff: the latest effective at or
   before t, and on a tie of effective_at the later-ingested (the earlier
   one's next_eff equals its own effective_ns).
2. The ledger holds, per lookup key, parallel arrays of consent events
   (l_eff, l_next, l_id, l_status, …) sorted by (effective_ns, ingest_seq):
   kind 1, key consent_id: every event of that consent (for events naming
   their consent); kind 2, key (subject_id, recipient_id): every event of
   every consent that some event names for that pair (for the others).
   Denied events and other legal bases need no ledger: kind 0 matches none.
3. Each access event picks its ledger row with one ANY LEFT JOIN and codes
   every entry: 255 when it is not its consent's state at occurred_ns,
   else the first failing check in SPEC §3 order (1 subject_mismatch …
   6 category_not_covered) or 0 when it passes. Read backwards (most
   recently effective first), the first 0 covers the event; without one,
   the first state decides; without any state there is no candidate.

(materialize(): ClickHouse 18.16 refuses a UNION ALL of a constant with a
column.) Lambdas capture no columns: ClickHouse 18.16 loses captured columns when an
outer query prunes the subquery, so event values reach them as lambda
arguments through replicate().

The engine reads the consent ledger as known now: late-arriving consent
events count. Both tables are read FINAL, so replayed duplicates never
count twice.
*/ -}}

{{define "event_filter"}}{{end}}

{{- /*
The report filters (reports.FilterSpecs), bound as @f_NAME. A statement
includes a filter's condition only when the filter is given ({{if
.Filtered "NAME"}}), so a run without filters reads what it read before.
"access_filter" narrows access events (the columns of access_events and
access_verdicts; verdict is access_verdicts' own): "verdicts" includes it,
so does any report reading access_verdicts directly. "consent_filter"
narrows consent events: recipient and jurisdiction are the event's own; a
grant matches a purpose or data category filter when its own scope
includes the value, a withdrawal (which lists none) when its consent ever
granted it. A report restricts that lookup to one customer's consents by
redefining "consent_scope" (a fragment starting with AND, over
consent_events columns).
*/ -}}

{{define "access_filter"}}
  {{- if .Filtered "recipient"}} AND recipient_id = @f_recipient{{end}}
  {{- if .Filtered "recipient_type"}} AND recipient_type = @f_recipient_type{{end}}
  {{- if .Filtered "data_category"}} AND has(data_categories, @f_data_category){{end}}
  {{- if .Filtered "purpose"}} AND purpose = @f_purpose{{end}}
  {{- if .Filtered "verdict"}} AND verdict = @f_verdict{{end}}
  {{- if .Filtered "jurisdiction"}} AND jurisdiction = @f_jurisdiction{{end}}
  {{- if .Filtered "actor"}} AND actor_id = @f_actor{{end}}
{{- end}}

{{define "consent_scope"}}{{end}}

{{define "consent_filter"}}
  {{- if .Filtered "recipient"}} AND recipient_id = @f_recipient{{end}}
  {{- if .Filtered "jurisdiction"}} AND jurisdiction = @f_jurisdiction{{end}}
  {{- if .Filtered "purpose"}}
  AND (has(purposes, @f_purpose) OR (empty(purposes) AND consent_id IN (
      SELECT consent_id FROM {{.DB}}.consent_events
      WHERE has(purposes, @f_purpose) {{template "consent_scope" .}})))
  {{- end}}
  {{- if .Filtered "data_category"}}
  AND (has(data_categories, @f_data_category) OR (empty(data_categories) AND consent_id IN (
      SELECT consent_id FROM {{.DB}}.consent_events
      WHERE has(data_categories, @f_data_category) {{template "consent_scope" .}})))
  {{- end}}
{{- end}}

{{define "verdicts"}}
SELECT
    event_id, occurred_ns, actor_id, actor_type, subject_id, action,
    data_categories, fields, recipient_id, recipient_type, purpose, legal_basis,
    consent_id, outcome, record_count, channel, jurisdiction, request_id,
    is_disclosure, verdict, verdict_consent_id, verdict_detail, missing_categories, is_violation
FROM {{.DB}}.access_verdicts FINAL
WHERE occurred_at >= toDateTime(@from_s) AND occurred_at <= toDateTime(@to_s)
  AND occurred_ns >= @from_ns AND occurred_ns < @to_ns
  {{template "event_filter" .}}
  {{- template "access_filter" .}}
{{end}}

{{define "ledger"}}
SELECT
    l_kind, l_k1, l_k2,
    arrayMap(x -> tupleElement(x, 1), l) AS l_eff,
    arrayMap(x -> tupleElement(x, 3), l) AS l_next,
    arrayMap(x -> tupleElement(x, 4), l) AS l_id,
    arrayMap(x -> tupleElement(x, 5), l) AS l_subject,
    arrayMap(x -> tupleElement(x, 6), l) AS l_recipient,
    arrayMap(x -> tupleElement(x, 7), l) AS l_status,
    arrayMap(x -> tupleElement(x, 8), l) AS l_purposes,
    arrayMap(x -> tupleElement(x, 9), l) AS l_cats,
    arrayMap(x -> tupleElement(x, 10), l) AS l_expires
FROM (
    SELECT l_kind, l_k1, l_k2, arraySort(groupArray(tuple(
        tupleElement(ev, 1), tupleElement(ev, 2), next_eff, consent_id, tupleElement(ev, 3),
        tupleElement(ev, 4), tupleElement(ev, 5), tupleElement(ev, 6), tupleElement(ev, 7),
        tupleElement(ev, 8)))) AS l
    FROM (
        SELECT consent_id, ev, next_eff, materialize(toUInt8(1)) AS l_kind, consent_id AS l_k1, materialize('') AS l_k2
        FROM ({{template "consent_history" .}})
        ARRAY JOIN evs AS ev, nexts AS next_eff
        UNION ALL
        SELECT consent_id, ev, next_eff, materialize(toUInt8(2)) AS l_kind, p_subject AS l_k1, p_recipient AS l_k2
        FROM (
            SELECT *
            FROM (
                SELECT DISTINCT consent_id, subject_id AS p_subject, recipient_id AS p_recipient
                FROM {{.DB}}.consent_events FINAL
            )
            ALL INNER JOIN ({{template "consent_history" .}}) USING (consent_id)
        )
        ARRAY JOIN evs AS ev, nexts AS next_eff
    )
    GROUP BY l_kind, l_k1, l_k2
)
{{end}}

{{define "consent_history"}}
    SELECT
        consent_id,
        arraySort(groupArray(tuple(effective_ns, ingest_seq, subject_id, recipient_id, status, purposes,
            data_categories, if(has_expiry = 1, expires_ns, toInt64(9223372036854775807))))) AS evs,
        arrayPushBack(arrayPopFront(arrayMap(x -> tupleElement(x, 1), evs)), toInt64(9223372036854775807)) AS nexts
    FROM {{.DB}}.consent_events FINAL
    GROUP BY consent_id
{{end}}

{{define "evaluated_verdicts"}}
SELECT
    event_id, occurred_ns, actor_id, actor_type, subject_id, action,
    data_categories, fields, recipient_id, recipient_type, purpose, legal_basis,
    consent_id, outcome, record_count, channel, jurisdiction, request_id,
    is_disclosure, verdict, verdict_consent_id, verdict_detail, missing_categories,
    toUInt8({{violation}}) AS is_violation
FROM (
    SELECT *,
        arrayMap((eff, nxt, st, purps, cats, exp, subj, rcpt, e) -> if(eff <= tupleElement(e, 1) AND tupleElement(e, 1) < nxt,
            multiIf(
                tupleElement(e, 2) = 1 AND subj != tupleElement(e, 3), 1,
                tupleElement(e, 2) = 1 AND rcpt != tupleElement(e, 4), 2,
                st = 'withdrawn', 3,
                exp <= tupleElement(e, 1), 4,
                NOT has(purps, tupleElement(e, 5)), 5,
                NOT hasAll(cats, tupleElement(e, 6)), 6,
                0),
            255),
            l_eff, l_next, l_status, l_purposes, l_cats, l_expires, l_subject, l_recipient,
            replicate(tuple(occurred_ns, l_kind, subject_id, recipient_id, purpose, data_categories), l_eff)) AS v_codes,
        arrayReverse(v_codes) AS v_rcodes,
        arrayFirstIndex(c -> c = 0, v_rcodes) AS v_pass,
        arrayFirstIndex(c -> c != 255, v_rcodes) AS v_last,
        length(v_codes) + 1 - if(v_pass > 0, v_pass, v_last) AS v_i,
        l_id[v_i] AS v_id,
        multiIf(
            outcome = 'denied', 'denied',
            legal_basis != 'consent', 'other_basis',
            v_last = 0, if(l_kind = 1, 'consent_unknown', 'no_consent'),
            v_pass > 0, 'covered',
            transform(v_codes[v_i], [1, 2, 3, 4, 5, 6],
                ['subject_mismatch', 'recipient_not_covered', 'consent_withdrawn',
                 'consent_expired', 'purpose_not_covered', 'category_not_covered'],
                'unknown')) AS verdict,
        multiIf(verdict IN ('denied', 'other_basis', 'consent_unknown'), consent_id,
                verdict = 'no_consent', '', v_id) AS verdict_consent_id,
        if(verdict = 'category_not_covered',
            arrayFilter((c, n, allowed) -> n = 1 AND NOT has(allowed, c),
                data_categories, arrayEnumerateUniq(data_categories),
                replicate(l_cats[v_i], data_categories)),
            emptyArrayString()) AS missing_categories,
        multiIf(
            verdict = 'denied', 'the request was refused (outcome denied)',
            verdict = 'other_basis', concat('legal basis ', legal_basis),
            verdict = 'consent_unknown', concat('no event of consent ', consent_id, ' is effective at or before the access'),
            verdict = 'no_consent', concat('no consent of subject ', subject_id, ' for recipient ', recipient_id, ' in effect'),
            verdict = 'covered', concat('covered by consent ', v_id),
            verdict = 'subject_mismatch', concat('consent ', v_id, ' belongs to subject ', l_subject[v_i]),
            verdict = 'recipient_not_covered', concat('consent ', v_id, ' is for recipient ', l_recipient[v_i]),
            verdict = 'consent_withdrawn', concat('consent ', v_id, ' withdrawn at ',
                formatDateTime(toDateTime(intDiv(l_eff[v_i], 1000000000)), '%FT%TZ', 'UTC')),
            verdict = 'consent_expired', concat('consent ', v_id, ' expired at ',
                formatDateTime(toDateTime(intDiv(l_expires[v_i], 1000000000)), '%FT%TZ', 'UTC')),
            verdict = 'purpose_not_covered', concat('purpose ', purpose, ' not in consent ', v_id,
                ' (allows ', arrayStringConcat(l_purposes[v_i], ', '), ')'),
            concat('missing categories: ', arrayStringConcat(missing_categories, ', '))) AS verdict_detail
    FROM (
      SELECT * FROM (
        SELECT
            event_id, occurred_ns, actor_id, actor_type, subject_id, action,
            data_categories, fields, recipient_id, recipient_type, purpose, legal_basis,
            consent_id, outcome, record_count, channel, jurisdiction, request_id,
            toUInt8({{disclosure}}) AS is_disclosure,
            multiIf(outcome = 'denied' OR legal_basis != 'consent', toUInt8(0),
                    consent_id != '', toUInt8(1), toUInt8(2)) AS l_kind,
            if(consent_id != '', consent_id, subject_id) AS l_k1,
            if(consent_id != '', '', recipient_id) AS l_k2
        FROM {{.DB}}.access_events FINAL
        WHERE occurred_at >= toDateTime(@from_s) AND occurred_at <= toDateTime(@to_s)
          AND occurred_ns >= @from_ns AND occurred_ns < @to_ns
          {{template "event_filter" .}}
      )
      ANY LEFT JOIN ({{template "ledger" .}}) USING (l_kind, l_k1, l_k2)
    )
)
{{end}}
