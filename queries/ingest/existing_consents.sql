-- Which of a batch's consent_event_ids are already stored; the batch's ids
-- arrive as the external table `batch_keys` (column id String).
SELECT DISTINCT consent_event_id FROM {{.MetaDB}}.consent_keys WHERE consent_event_id IN (SELECT id FROM batch_keys)
