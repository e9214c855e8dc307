-- Access review (SPEC §4): which internal actors — employees, services and
-- privaudit's own system actors — touched which categories, and how much.
-- after_hours_events counts accesses outside working hours: before
-- @workday_start or from @workday_end (hours, UTC), or on a Saturday or
-- Sunday. denied_events counts refused requests. Services run around the
-- clock, so the totals also count employees' after-hours accesses apart.
-- It reads the stored verdicts' copy of the events (access_verdicts holds
-- every access event's columns), so every filter applies, verdict included.
-- The detail filters in a subquery: its output aliases data_categories,
-- purposes would otherwise shadow the columns of the same names.
SELECT
    actor_id, actor_type,
    arraySort(groupUniqArrayArray(data_categories)) AS data_categories,
    toInt64(count()) AS events, toInt64(uniqExact(subject_id)) AS subjects,
    toInt64(sum(record_count)) AS records,
    toInt64(countIf(
        toHour(occurred_at, 'UTC') < @workday_start OR toHour(occurred_at, 'UTC') >= @workday_end
        OR toDayOfWeek(occurred_at, 'UTC') >= 6)) AS after_hours_events,
    arraySort(groupUniqArray(action)) AS actions,
    arraySort(groupUniqArray(purpose)) AS purposes,
    toInt64(countIf(outcome = 'denied')) AS denied_events,
    min(occurred_ns) AS first_seen, max(occurred_ns) AS last_seen
FROM (
    SELECT *
    FROM {{.DB}}.access_verdicts FINAL
    WHERE occurred_at >= toDateTime(@from_s) AND occurred_at <= toDateTime(@to_s)
      AND occurred_ns >= @from_ns AND occurred_ns < @to_ns
      AND actor_type IN ('employee', 'service', 'system')
      {{- template "access_filter" .}}
)
GROUP BY actor_id, actor_type
ORDER BY after_hours_events DESC, events DESC, actor_id, actor_type

{{define "totals"}}
SELECT
    toFloat64(uniqExact(actor_id)) AS `Internal actors`,
    toFloat64(count()) AS `Accesses`,
    toFloat64(countIf(
        toHour(occurred_at, 'UTC') < @workday_start OR toHour(occurred_at, 'UTC') >= @workday_end
        OR toDayOfWeek(occurred_at, 'UTC') >= 6)) AS `After-hours accesses`,
    toFloat64(countIf(actor_type = 'employee' AND (
        toHour(occurred_at, 'UTC') < @workday_start OR toHour(occurred_at, 'UTC') >= @workday_end
        OR toDayOfWeek(occurred_at, 'UTC') >= 6))) AS `After-hours accesses by employees`,
    toFloat64(uniqExact(subject_id)) AS `Customers`,
    toFloat64(countIf(outcome = 'denied')) AS `Denied requests`
FROM {{.DB}}.access_verdicts FINAL
WHERE occurred_at >= toDateTime(@from_s) AND occurred_at <= toDateTime(@to_s)
  AND occurred_ns >= @from_ns AND occurred_ns < @to_ns
  AND actor_type IN ('employee', 'service', 'system')
  {{- template "access_filter" .}}
{{end}}

{{define "by_hour"}}
SELECT formatDateTime(occurred_at, '%H:00', 'UTC') AS row_label, actor_type AS col_label,
       toFloat64(count()) AS value
FROM {{.DB}}.access_verdicts FINAL
WHERE occurred_at >= toDateTime(@from_s) AND occurred_at <= toDateTime(@to_s)
  AND occurred_ns >= @from_ns AND occurred_ns < @to_ns
  AND actor_type IN ('employee', 'service', 'system')
  {{- template "access_filter" .}}
GROUP BY row_label, col_label
{{end}}
