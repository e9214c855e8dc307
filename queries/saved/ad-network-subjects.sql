-- title: Customers shared with ad networks, and under which consent
-- description: Customers whose data was disclosed to third parties for an
--   advertising purpose (the purpose contains the given text, case-insensitive),
--   one row per customer and recipient, with the categories and purposes
--   involved and how each disclosure stood with consent, from the stored
--   verdicts (access_verdicts FINAL): covered (a consent allowed it),
--   withdrawn (made after the customer withdrew), never_consented (no consent
--   of the customer to that recipient had taken effect, or the consent named
--   had no record: verdicts no_consent and consent_unknown), violations (every
--   disclosure no consent covered, the three above included), and the distinct
--   verdicts. A customer who never consented shows up with never_consented =
--   events, never as a missing row.
-- param: since Date                      first day of the period (inclusive, UTC)
-- param: until Date                      day after the period (exclusive, UTC)
-- param: purpose String = advertising    text the purpose must contain
-- param: recipient String = ''           only this recipient_id (empty: all third parties)
SELECT
    subject_id,
    recipient_id,
    groupUniqArray(purpose) AS purposes,
    groupUniqArrayArray(data_categories) AS categories,
    count() AS events,
    sum(record_count) AS records,
    countIf(verdict = 'covered') AS covered,
    countIf(verdict = 'consent_withdrawn') AS withdrawn,
    countIf({{never_consented}}) AS never_consented,
    countIf({{violation}}) AS violations,
    arraySort(groupUniqArray(verdict)) AS verdicts,
    min(occurred_at) AS first_shared,
    max(occurred_at) AS last_shared,
    any(jurisdiction) AS jurisdiction
FROM {{.DB}}.access_verdicts FINAL
WHERE occurred_at >= @since AND occurred_at < @until
  AND {{disclosure}}
  AND recipient_type = 'third_party'
  AND position(lower(purpose), lower(@purpose)) > 0
  AND (@recipient = '' OR recipient_id = @recipient)
GROUP BY subject_id, recipient_id
ORDER BY subject_id, recipient_id
