-- What one monthly partition of ingest_batches holds (argument: its month, YYYYMM).
SELECT count() AS row_count, min(written_at) AS min_time, max(written_at) AS max_time
FROM {{.MetaDB}}.ingest_batches
WHERE toYYYYMM(written_at) = ?
