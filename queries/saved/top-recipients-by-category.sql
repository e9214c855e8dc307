-- title: Top recipients by data category
-- description: For each data category, the recipients that received it most
--   often in disclosures (share, export or transfer, allowed, to a recipient
--   other than internal or the subject), with customers, records, first and
--   last disclosure, and whether it was covered, from the stored verdicts
--   (access_verdicts FINAL): covered (a consent allowed it), other_basis (a
--   legal basis other than consent), violations (no consent covered it), of
--   which never_consented (no consent of the customer to that recipient had
--   taken effect, or the consent named had no record).
-- param: since Date                 first day of the period (inclusive, UTC)
-- param: until Date                 day after the period (exclusive, UTC)
-- param: category String = ''       only this data category (empty: every category)
-- param: per_category UInt64 = 10   how many recipients to list per category
SELECT
    category,
    recipient_id,
    recipient_type,
    count() AS events,
    uniqExact(subject_id) AS subjects,
    sum(record_count) AS records,
    countIf(verdict = 'covered') AS covered,
    countIf(verdict = 'other_basis') AS other_basis,
    countIf({{violation}}) AS violations,
    countIf({{never_consented}}) AS never_consented,
    min(occurred_at) AS first_seen,
    max(occurred_at) AS last_seen
FROM {{.DB}}.access_verdicts FINAL
ARRAY JOIN data_categories AS category
WHERE occurred_at >= @since AND occurred_at < @until
  AND {{disclosure}}
  AND (@category = '' OR category = @category)
GROUP BY category, recipient_id, recipient_type
ORDER BY category, events DESC, recipient_id
LIMIT @per_category BY category
