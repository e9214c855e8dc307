-- The leaves of a record id, of either kind: an id is an event_id or a
-- consent_event_id. Raw rows, so a leaf appended twice shows twice.
SELECT leaf_index, kind, leaf_hash FROM {{.MetaDB}}.log_leaves WHERE record_key = ? ORDER BY leaf_index, kind
