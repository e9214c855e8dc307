-- Which of a batch's event_ids are already stored. The batch's ids arrive as
-- the external table `batch_keys` (column id String).
SELECT DISTINCT event_id FROM {{.MetaDB}}.event_keys WHERE event_id IN (SELECT id FROM batch_keys)
