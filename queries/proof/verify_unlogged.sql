-- The stored records whose batch has no leaf at all: written outside
-- privaudit, or a batch whose leaves are not appended yet.
SELECT
    (SELECT count() FROM {{.DB}}.access_events WHERE batch_id NOT IN (SELECT batch_id FROM {{.MetaDB}}.log_runs))
  + (SELECT count() FROM {{.DB}}.consent_events WHERE batch_id NOT IN (SELECT batch_id FROM {{.MetaDB}}.log_runs))
