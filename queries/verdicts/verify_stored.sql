-- `privaudit verify verdicts`, the stored side: the verdict store's row of
-- every access event of [from, to) whose subject hashes to @bucket of
-- @buckets, ordered by event_id to merge with verify_evaluated.sql.
SELECT event_id, verdict, verdict_consent_id, verdict_detail, missing_categories, is_disclosure, is_violation,
    ledger_position
FROM {{.DB}}.access_verdicts FINAL
WHERE occurred_at >= toDateTime(@from_s) AND occurred_at <= toDateTime(@to_s)
  AND occurred_ns >= @from_ns AND occurred_ns < @to_ns
  AND cityHash64(subject_id) % @buckets = @bucket
ORDER BY event_id
