-- Which stored consent_event_ids have the hashes of a batch's candidate keys;
-- see existing_events.sql.
SELECT DISTINCT consent_event_id FROM {{.MetaDB}}.consent_key_hashes WHERE key IN (SELECT key FROM batch_keys)
