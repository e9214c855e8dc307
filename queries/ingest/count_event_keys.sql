-- How many event keys are stored, to size the writer's key filter before
-- stored_event_keys.sql streams them.
SELECT count() FROM {{.MetaDB}}.event_key_hashes
