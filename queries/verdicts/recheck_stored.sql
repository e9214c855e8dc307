-- `privaudit verify verdicts`, second look: the verdict store's rows of the
-- events @ids of [from, to) that differed in the first pass, ordered by
-- event_id to merge with recheck_evaluated.sql.
SELECT event_id, verdict, verdict_consent_id, verdict_detail, missing_categories, is_disclosure, is_violation,
    ledger_position
FROM {{.DB}}.access_verdicts FINAL
WHERE occurred_at >= toDateTime(@from_s) AND occurred_at <= toDateTime(@to_s)
  AND occurred_ns >= @from_ns AND occurred_ns < @to_ns
  AND has(@ids, event_id)
ORDER BY event_id
