-- How many access events of [from, to) are stored, to size verify's chunks.
-- Without FINAL: an upper bound is enough.
SELECT count() FROM {{.DB}}.access_events
WHERE occurred_at >= toDateTime(@from_s) AND occurred_at <= toDateTime(@to_s)
  AND occurred_ns >= @from_ns AND occurred_ns < @to_ns
