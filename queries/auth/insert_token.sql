INSERT INTO {{.MetaDB}}.api_tokens (token_id, name, role, secret_hash, created_at, revoked, version)
