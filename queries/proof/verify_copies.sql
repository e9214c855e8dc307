-- Records stored more than once (raw rows, what = 'record') and records
-- with more than one leaf (what = 'leaf'): read only when verify_counts
-- says some exist. At most @limit rows.
SELECT what, kind, record_key, copies, batches, leaves
FROM
(
    SELECT 'record' AS what, 'events' AS kind, event_id AS record_key, count() AS copies,
        groupUniqArray(batch_id) AS batches, emptyArrayUInt64() AS leaves
    FROM {{.DB}}.access_events GROUP BY event_id HAVING count() > 1
    UNION ALL
    SELECT 'record' AS what, 'consents' AS kind, consent_event_id AS record_key, count() AS copies,
        groupUniqArray(batch_id) AS batches, emptyArrayUInt64() AS leaves
    FROM {{.DB}}.consent_events GROUP BY consent_event_id HAVING count() > 1
    UNION ALL
    SELECT 'leaf' AS what, kind, record_key, count() AS copies,
        groupUniqArray(batch_id) AS batches, groupArray(leaf_index) AS leaves
    FROM {{.MetaDB}}.log_leaves GROUP BY kind, record_key HAVING count() > 1
)
LIMIT @limit
