-- The stored records and their proof-log leaves that disagree: a leaf
-- whose record is gone (has_record = 0), a record with no leaf
-- (has_leaf = 0), or a record whose recomputed leaf hash is not its
-- leaf's. Records are read raw, never FINAL, so a copy inserted beside the
-- original joins its leaf too (the caller's counts catch an exact copy).
-- With the period filter, the records ingested in [@from, @to) and the
-- leaves appended in it are checked, each with its counterpart.
SELECT leaf_index, kind, record_key, leaf_batch, record_batch, has_leaf, has_record
FROM
(
    SELECT leaf_index, kind, record_key, batch_id AS leaf_batch, leaf_hash, toUInt8(1) AS has_leaf
    FROM {{.MetaDB}}.log_leaves
    {{- if .Filtered "period"}}
    WHERE appended_at >= @from AND appended_at < @to
       OR kind = 'events' AND record_key IN (SELECT event_id FROM {{.DB}}.access_events WHERE ingested_at >= @from AND ingested_at < @to)
       OR kind = 'consents' AND record_key IN (SELECT consent_event_id FROM {{.DB}}.consent_events WHERE ingested_at >= @from AND ingested_at < @to)
    {{- end}}
)
ALL FULL OUTER JOIN
(
    SELECT 'events' AS kind, event_id AS record_key, batch_id AS record_batch, lower(hex({{event_leaf_hash}})) AS record_hash, toUInt8(1) AS has_record
    FROM {{.DB}}.access_events
    {{- if .Filtered "period"}}
    WHERE ingested_at >= @from AND ingested_at < @to
       OR event_id IN (SELECT record_key FROM {{.MetaDB}}.log_leaves WHERE kind = 'events' AND appended_at >= @from AND appended_at < @to)
    {{- end}}
    UNION ALL
    SELECT 'consents' AS kind, consent_event_id AS record_key, batch_id AS record_batch, lower(hex({{consent_leaf_hash}})) AS record_hash, toUInt8(1) AS has_record
    FROM {{.DB}}.consent_events
    {{- if .Filtered "period"}}
    WHERE ingested_at >= @from AND ingested_at < @to
       OR consent_event_id IN (SELECT record_key FROM {{.MetaDB}}.log_leaves WHERE kind = 'consents' AND appended_at >= @from AND appended_at < @to)
    {{- end}}
)
USING kind, record_key
WHERE NOT (has_leaf = 1 AND has_record = 1 AND leaf_hash = record_hash)
