-- Recent queries: the last @limit query runs (ad-hoc and saved) recorded
-- under one officer's name (@actor) in the last @days days, newest first,
-- from the officers' trail (audit/trail.go): the statement run (an ad-hoc
-- query's text, clipped as recorded), the saved query's name and its
-- parameters' names (never their values), how the run ended and how many
-- rows it returned. The console's Query page lists them.
SELECT
    event_id,
    occurred_ns,
    attr_values[indexOf(attr_keys, 'saved')] AS saved,
    attr_values[indexOf(attr_keys, 'sql')] AS statement,
    attr_values[indexOf(attr_keys, 'params')] AS param_names,
    attr_values[indexOf(attr_keys, 'status')] AS status,
    attr_values[indexOf(attr_keys, 'error')] AS error_kind,
    attr_values[indexOf(attr_keys, 'format')] AS output_format,
    attr_values[indexOf(attr_keys, 'truncated')] = 'true' AS truncated,
    toInt64(record_count) AS row_count
FROM {{.DB}}.access_events FINAL
WHERE recipient_id = @recipient
  AND occurred_at >= now() - toIntervalDay(@days)
  AND actor_id = @actor
  AND subject_id = @subject
  AND purpose = @purpose
ORDER BY occurred_ns DESC, event_id
LIMIT @limit
