-- The leaf runs one drop removes (see migration 0100).
INSERT INTO {{.MetaDB}}.retention_drop_leaves (drop_id, kind, first_leaf, last_leaf)
