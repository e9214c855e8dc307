-- verdicts: the stored verdicts (access_verdicts, 0050) as officers query
-- them in ad-hoc SQL and saved queries. One row per access event: its
-- latest verdict version (read FINAL, so a re-evaluated or replayed event
-- is never counted twice), the event columns an officer needs, and the
-- verdict with the consent that decided it, its detail and the categories
-- the consent lacks. Bookkeeping (ledger_position, ingest_seq, occurred_ns)
-- is left out; evaluated_at says when the verdict was last evaluated. A
-- column added to access_verdicts later reaches the view only through a
-- migration that recreates it (TestVerdictsInAdHocSQL compares the two).
-- A plain view: on one shard of replicas (cluster mode) each replica holds
-- the whole table, so the view reads its own replica.
CREATE VIEW IF NOT EXISTS {{.DB}}.verdicts {{.OnCluster}} AS
SELECT
    event_id,
    occurred_at,
    actor_id,
    actor_type,
    subject_id,
    action,
    data_categories,
    fields,
    recipient_id,
    recipient_type,
    purpose,
    legal_basis,
    consent_id,
    outcome,
    record_count,
    channel,
    jurisdiction,
    request_id,
    attr_keys,
    attr_values,
    ingested_at,
    is_disclosure,
    verdict,
    verdict_consent_id,
    verdict_detail,
    missing_categories,
    is_violation,
    evaluated_at
FROM {{.DB}}.access_verdicts FINAL;
