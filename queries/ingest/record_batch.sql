INSERT INTO {{.MetaDB}}.ingest_batches (batch_id, kind, records, inserted, duplicates, payload_sha256, written_at)
