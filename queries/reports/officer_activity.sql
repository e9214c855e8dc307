-- Officer activity: every action privaudit recorded of its own users in the
-- period (the officers' trail, audit/trail.go), one row each, oldest first:
-- report runs (CLI, HTTP or the web console), schedule runs started by hand, downloads of
-- scheduled runs' files, ad-hoc and saved queries. Runs the cron spec or a
-- catch-up fired are the schedule's (actor type system) and are left out.
-- The trail's purposes, channels and activity names are bound from Go
-- (reports/officer_activity.go): @purpose_*, @channel_*, @recipient,
-- @actor_type, @kind_*. parameters lists the names of a run's parameters,
-- never their values; row_count is the rows the action revealed.
{{define "trail"}}
SELECT
    occurred_ns, actor_id, event_id,
    attr_values[indexOf(attr_keys, 'saved')] AS saved,
    attr_values[indexOf(attr_keys, 'status')] AS status,
    attr_values[indexOf(attr_keys, 'error')] AS error_kind,
    attr_values[indexOf(attr_keys, 'params')] AS query_params,
    multiIf(purpose = @purpose_query, if(saved = '', @kind_query, @kind_saved_query),
            channel = @channel_manual, @kind_schedule_run,
            channel = @channel_run_file, @kind_run_file,
            @kind_report_run) AS activity,
    multiIf(purpose = @purpose_query, saved,
            channel = @channel_run_file, attr_values[indexOf(attr_keys, 'file')],
            attr_values[indexOf(attr_keys, 'report')]) AS what,
    attr_values[indexOf(attr_keys, 'schedule')] AS schedule,
    attr_values[indexOf(attr_keys, 'run_id')] AS run_id,
    attr_values[indexOf(attr_keys, 'from')] AS period_from,
    attr_values[indexOf(attr_keys, 'to')] AS period_to,
    if(purpose = @purpose_query,
       if(query_params = '', emptyArrayString(), splitByChar(',', query_params)),
       arrayMap(k -> substring(k, 7), arrayFilter(k -> substring(k, 1, 6) = 'param.', attr_keys))) AS parameters,
    attr_values[indexOf(attr_keys, 'format')] AS output_format,
    toInt64(record_count) AS row_count,
    multiIf(status = '', if(outcome = 'allowed', 'ok', outcome),
            error_kind = '', status,
            concat(status, ': ', error_kind)) AS result
FROM {{.DB}}.access_events FINAL
WHERE occurred_at >= toDateTime(@from_s) AND occurred_at <= toDateTime(@to_s)
  AND occurred_ns >= @from_ns AND occurred_ns < @to_ns
  AND recipient_id = @recipient AND recipient_type = @recipient
  AND actor_type = @actor_type
  AND (purpose = @purpose_report OR purpose = @purpose_query)
  AND (channel = @channel_api OR channel = @channel_manual OR channel = @channel_run_file OR channel = @channel_console)
  {{- if .Filtered "actor"}} AND actor_id = @f_actor{{end}}
{{end}}
SELECT occurred_ns AS occurred_at, actor_id, activity, what, schedule, run_id, period_from, period_to,
       parameters, output_format, row_count, result, event_id
FROM ({{template "trail" .}})
ORDER BY occurred_at, event_id

{{define "totals"}}
SELECT
    toFloat64(uniqExact(actor_id)) AS `Officers`,
    toFloat64(count()) AS `Actions`,
    toFloat64(countIf(activity = @kind_report_run)) AS `Report runs`,
    toFloat64(countIf(activity = @kind_schedule_run)) AS `Schedule runs started by hand`,
    toFloat64(countIf(activity = @kind_run_file)) AS `Run-file downloads`,
    toFloat64(countIf(activity = @kind_query OR activity = @kind_saved_query)) AS `Queries (ad-hoc and saved)`,
    toFloat64(countIf(result != 'ok')) AS `Refused or failed`
FROM ({{template "trail" .}})
{{end}}

{{define "by_officer"}}
SELECT actor_id AS row_label, activity AS col_label, toFloat64(count()) AS value
FROM ({{template "trail" .}})
GROUP BY row_label, col_label
{{end}}
