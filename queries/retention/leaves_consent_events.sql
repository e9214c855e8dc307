-- The proof log leaves of the records one monthly partition of consent_events holds
-- (argument: its month, YYYYMM), in leaf order: read before a drop's intent
-- is recorded and merged into runs as they stream in.
SELECT leaf_index
FROM {{.MetaDB}}.log_leaf_rows
WHERE kind = 'consents'
  AND record_key IN (SELECT consent_event_id FROM {{.DB}}.consent_events WHERE toYYYYMM(effective_at) = ?)
ORDER BY leaf_index
