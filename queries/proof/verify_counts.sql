-- The stored record rows (raw) verify compares, under the same period
-- conditions as verify_records: Result.Records.
SELECT
    (SELECT count() FROM {{.DB}}.access_events
        {{- if .Filtered "period"}} WHERE ingested_at >= @from AND ingested_at < @to OR event_id IN (SELECT record_key FROM {{.MetaDB}}.log_leaf_rows WHERE kind = 'events' AND appended_at >= @from AND appended_at < @to){{end}}) AS events,
    (SELECT count() FROM {{.DB}}.consent_events
        {{- if .Filtered "period"}} WHERE ingested_at >= @from AND ingested_at < @to OR consent_event_id IN (SELECT record_key FROM {{.MetaDB}}.log_leaf_rows WHERE kind = 'consents' AND appended_at >= @from AND appended_at < @to){{end}}) AS consents
