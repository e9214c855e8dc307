-- The current version of every token (FINAL keeps the latest row per token_id).
SELECT token_id, name, role, secret_hash, created_at, revoked
FROM {{.MetaDB}}.api_tokens FINAL
ORDER BY created_at
