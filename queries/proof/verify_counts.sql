-- Leaf rows and raw record rows of each kind, under the same period
-- conditions as verify_records: with no copy, matched pairs equal both
-- leaves minus records gone and records minus records without a leaf.
SELECT
    (SELECT count() FROM {{.MetaDB}}.log_leaves WHERE kind = 'events'
        {{- if .Filtered "period"}} AND (appended_at >= @from AND appended_at < @to OR record_key IN (SELECT event_id FROM {{.DB}}.access_events WHERE ingested_at >= @from AND ingested_at < @to)){{end}}) AS event_leaves,
    (SELECT count() FROM {{.DB}}.access_events
        {{- if .Filtered "period"}} WHERE ingested_at >= @from AND ingested_at < @to OR event_id IN (SELECT record_key FROM {{.MetaDB}}.log_leaves WHERE kind = 'events' AND appended_at >= @from AND appended_at < @to){{end}}) AS events,
    (SELECT count() FROM {{.MetaDB}}.log_leaves WHERE kind = 'consents'
        {{- if .Filtered "period"}} AND (appended_at >= @from AND appended_at < @to OR record_key IN (SELECT consent_event_id FROM {{.DB}}.consent_events WHERE ingested_at >= @from AND ingested_at < @to)){{end}}) AS consent_leaves,
    (SELECT count() FROM {{.DB}}.consent_events
        {{- if .Filtered "period"}} WHERE ingested_at >= @from AND ingested_at < @to OR consent_event_id IN (SELECT record_key FROM {{.MetaDB}}.log_leaves WHERE kind = 'consents' AND appended_at >= @from AND appended_at < @to){{end}}) AS consents
