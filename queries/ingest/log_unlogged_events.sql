-- Every stored access event without a leaf, in the recovery order (ingest_seq,
-- key), for privaudit seal-stored (records stored while sealing was off, or
-- before the proof log existed). Only a batch whose stored rows outnumber
-- its leaves can hold one, so keys are compared for those batches alone
-- (rows counted raw: a record stored twice only makes its batch compared):
-- comparing every record's key with every leaf's took 41 s at 10M events.
SELECT event_id, occurred_at, occurred_ns, actor_id, actor_type, subject_id, action, data_categories, fields, recipient_id, recipient_type, purpose, legal_basis, consent_id, outcome, record_count, channel, jurisdiction, request_id, attr_keys, attr_values, ingested_at, ingest_seq, batch_id
FROM {{.DB}}.access_events FINAL
PREWHERE batch_id IN (
    SELECT batch_id
    FROM (SELECT batch_id, count() AS stored FROM {{.DB}}.access_events GROUP BY batch_id)
    ANY LEFT JOIN (SELECT batch_id, sum(leaf_count) AS leaves FROM {{.MetaDB}}.log_runs WHERE kind = 'events' GROUP BY batch_id) USING batch_id
    WHERE stored > leaves)
WHERE event_id NOT IN (
    SELECT arrayJoin(record_keys) FROM {{.MetaDB}}.log_runs
    WHERE kind = 'events' AND batch_id IN (
        SELECT batch_id
        FROM (SELECT batch_id, count() AS stored FROM {{.DB}}.access_events GROUP BY batch_id)
        ANY LEFT JOIN (SELECT batch_id, sum(leaf_count) AS leaves FROM {{.MetaDB}}.log_runs WHERE kind = 'events' GROUP BY batch_id) USING batch_id
        WHERE stored > leaves))
ORDER BY ingest_seq, event_id
