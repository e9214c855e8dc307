-- The names of records verify_records found, by k (its hash of kind and
-- key): each leaf's kind, key, index and batch, and each stored row's kind,
-- key and batch. @ks holds at most the findings verify lists.
SELECT 'leaf' AS side, sipHash64(concat(kind, '/', record_key)) AS k, kind, record_key, leaf_index, batch_id
FROM {{.MetaDB}}.log_leaf_rows
WHERE has(@ks, sipHash64(concat(kind, '/', record_key)))
UNION ALL
SELECT 'record' AS side, sipHash64(concat('events/', event_id)) AS k, 'events' AS kind, event_id AS record_key, toUInt64(0) AS leaf_index, batch_id
FROM {{.DB}}.access_events
WHERE has(@ks, sipHash64(concat('events/', event_id)))
UNION ALL
SELECT 'record' AS side, sipHash64(concat('consents/', consent_event_id)) AS k, 'consents' AS kind, consent_event_id AS record_key, toUInt64(0) AS leaf_index, batch_id
FROM {{.DB}}.consent_events
WHERE has(@ks, sipHash64(concat('consents/', consent_event_id)))
