-- title: Shares after withdrawal, and shares never consented to
-- description: Disclosures made while the customer's consent to that recipient
--   was withdrawn, and, so that a recipient nobody consented to is never
--   answered with "0 rows", the disclosures made without any consent at all.
--   One row per disclosure; the column finding says which: withdrawn (stored
--   verdict consent_withdrawn: the customer had withdrawn the consent that
--   decided the event) or never_consented (verdict no_consent: no consent of
--   the customer to that recipient had taken effect by then; or
--   consent_unknown: the consent the event names had no record in effect).
--   consent_id and detail name the consent and when it was withdrawn. No rows
--   means no disclosure of the period was made after a withdrawal or without
--   consent. Read from the verdict store (access_verdicts FINAL). Optional
--   filters narrow to one recipient, data category or jurisdiction.
-- param: since Date                 first day of the period (inclusive, UTC)
-- param: until Date                 day after the period (exclusive, UTC)
-- param: recipient String = ''      only this recipient_id (empty: all)
-- param: category String = ''       only events touching this data category (empty: all)
-- param: jurisdiction String = ''   only this jurisdiction, e.g. US-NY (empty: all)
SELECT
    if(verdict = 'consent_withdrawn', 'withdrawn', 'never_consented') AS finding,
    event_id,
    occurred_at,
    subject_id,
    recipient_id,
    purpose,
    data_categories,
    jurisdiction,
    verdict,
    verdict_consent_id AS consent_id,
    verdict_detail AS detail
FROM {{.DB}}.access_verdicts FINAL
WHERE occurred_at >= @since AND occurred_at < @until
  AND {{disclosure}}
  AND (verdict = 'consent_withdrawn' OR {{never_consented}})
  AND (@recipient = '' OR recipient_id = @recipient)
  AND (@category = '' OR has(data_categories, @category))
  AND (@jurisdiction = '' OR jurisdiction = @jurisdiction)
ORDER BY occurred_at, event_id
