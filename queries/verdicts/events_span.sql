-- How many access events are stored and the span of their occurred_ns (the
-- backfill's period). Without FINAL: an upper bound is enough to size chunks.
SELECT count(), min(occurred_ns), max(occurred_ns) FROM {{.DB}}.access_events
