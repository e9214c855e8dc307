-- The proof log leaves of the records one monthly partition of access_events holds
-- (argument: its month, YYYYMM), in leaf order: read before a drop's intent
-- is recorded and merged into runs as they stream in.
SELECT leaf_index
FROM {{.MetaDB}}.log_leaf_rows
WHERE kind = 'events'
  AND record_key IN (SELECT event_id FROM {{.DB}}.access_events WHERE toYYYYMM(occurred_at) = ?)
ORDER BY leaf_index
