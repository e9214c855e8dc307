-- The stored records and their proof-log leaves that disagree, found in one
-- aggregation by record: k is a 64-bit hash of the record's kind and key,
-- the same on both sides. Per record it counts the leaf rows and the stored
-- rows (raw, never FINAL, so a copy shows) and compares the leaf's hash
-- with the leaf hash recomputed from the stored row. A row comes out when
-- the record is not exactly once on each side with equal hashes: a leaf
-- whose record is gone, a record with no leaf, a changed record, or a copy.
-- (Two records whose k collide show as a difference, which the naming
-- step, by key, resolves; a collision cannot hide one.) With the period
-- filter, the records ingested in [@from, @to) and the leaves appended in
-- it are compared, each with its counterpart.
SELECT k, consents, leaves, records, leaf_index
FROM
(
    SELECT
        k,
        max(is_consent) AS consents,
        countIf(src = 0) AS leaves,
        countIf(src = 1) AS records,
        minIf(leaf_index, src = 0) AS leaf_index,
        anyIf(h, src = 0) = anyIf(h, src = 1) AS equal
    FROM
    (
        SELECT toUInt8(0) AS src, sipHash64(concat(kind, '/', record_key)) AS k, toUInt8(kind = 'consents') AS is_consent,
            leaf_index, toFixedString(substring(unhex(leaf_hash), 1, 32), 32) AS h
        FROM {{.MetaDB}}.log_leaf_rows
        {{- if .Filtered "period"}}
        WHERE appended_at >= @from AND appended_at < @to
           OR kind = 'events' AND record_key IN (SELECT event_id FROM {{.DB}}.access_events WHERE ingested_at >= @from AND ingested_at < @to)
           OR kind = 'consents' AND record_key IN (SELECT consent_event_id FROM {{.DB}}.consent_events WHERE ingested_at >= @from AND ingested_at < @to)
        {{- end}}
        UNION ALL
        SELECT toUInt8(1) AS src, sipHash64(concat('events/', event_id)) AS k, toUInt8(0) AS is_consent,
            toUInt64(0) AS leaf_index, {{event_leaf_hash}} AS h
        FROM {{.DB}}.access_events
        {{- if .Filtered "period"}}
        WHERE ingested_at >= @from AND ingested_at < @to
           OR event_id IN (SELECT record_key FROM {{.MetaDB}}.log_leaf_rows WHERE kind = 'events' AND appended_at >= @from AND appended_at < @to)
        {{- end}}
        UNION ALL
        SELECT toUInt8(1) AS src, sipHash64(concat('consents/', consent_event_id)) AS k, toUInt8(1) AS is_consent,
            toUInt64(0) AS leaf_index, {{consent_leaf_hash}} AS h
        FROM {{.DB}}.consent_events
        {{- if .Filtered "period"}}
        WHERE ingested_at >= @from AND ingested_at < @to
           OR consent_event_id IN (SELECT record_key FROM {{.MetaDB}}.log_leaf_rows WHERE kind = 'consents' AND appended_at >= @from AND appended_at < @to)
        {{- end}}
    )
    GROUP BY k
)
WHERE NOT (leaves = 1 AND records = 1 AND equal)
