-- Every stored consent event without a leaf, in the recovery order (ingest_seq,
-- key), for privaudit seal-stored (records stored while sealing was off, or
-- before the proof log existed). Only a batch whose stored rows outnumber
-- its leaves can hold one, so keys are compared for those batches alone
-- (rows counted raw: a record stored twice only makes its batch compared):
-- comparing every record's key with every leaf's took 41 s at 10M events.
SELECT consent_event_id, consent_id, subject_id, recipient_id, status, purposes, data_categories, effective_at, effective_ns, has_expiry, expires_at, expires_ns, method, notice_version, jurisdiction, proof_sha256, attr_keys, attr_values, ingested_at, ingest_seq, batch_id
FROM {{.DB}}.consent_events FINAL
PREWHERE batch_id IN (
    SELECT batch_id
    FROM (SELECT batch_id, count() AS stored FROM {{.DB}}.consent_events GROUP BY batch_id)
    ANY LEFT JOIN (SELECT batch_id, sum(leaf_count) AS leaves FROM {{.MetaDB}}.log_runs WHERE kind = 'consents' GROUP BY batch_id) USING batch_id
    WHERE stored > leaves)
WHERE consent_event_id NOT IN (
    SELECT arrayJoin(record_keys) FROM {{.MetaDB}}.log_runs
    WHERE kind = 'consents' AND batch_id IN (
        SELECT batch_id
        FROM (SELECT batch_id, count() AS stored FROM {{.DB}}.consent_events GROUP BY batch_id)
        ANY LEFT JOIN (SELECT batch_id, sum(leaf_count) AS leaves FROM {{.MetaDB}}.log_runs WHERE kind = 'consents' GROUP BY batch_id) USING batch_id
        WHERE stored > leaves))
ORDER BY ingest_seq, consent_event_id
