-- How many consent keys are stored, to size the writer's key filter before
-- stored_consent_keys.sql streams them.
SELECT count() FROM {{.MetaDB}}.consent_key_hashes
