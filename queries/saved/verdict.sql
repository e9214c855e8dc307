-- description: Every access event of the period whose stored verdict (SPEC §3)
--   is the one this query is named for, one row per event with the consent
--   that decided it (consent_id) and the verdict in words (detail). Read from
--   the verdict store (access_verdicts FINAL): the latest verdict of each
--   event, so an event a later consent re-evaluated shows only its current
--   verdict. Optional filters narrow to one customer, recipient, data
--   category or jurisdiction, or to disclosures only. No rows means no event
--   had this verdict, nothing more: a recipient nobody consented to has no
--   consent_withdrawn events but no_consent ones, so to ask whether anything
--   reached a recipient without a live consent use shares-after-withdrawal.
-- variant: verdict-covered               covered                Covered: accesses a consent of the customer allowed
-- variant: verdict-other-basis           other_basis            Other basis: accesses made on a legal basis other than consent
-- variant: verdict-denied                denied                 Denied: accesses that were refused
-- variant: verdict-no-consent            no_consent             No consent: the customer had given this recipient no consent by then
-- variant: verdict-consent-unknown       consent_unknown        Consent unknown: the consent the event names had no record in effect by then
-- variant: verdict-subject-mismatch      subject_mismatch       Subject mismatch: the consent the event names is another customer's
-- variant: verdict-recipient-not-covered recipient_not_covered  Recipient not covered: the consent the event names is for another recipient
-- variant: verdict-consent-withdrawn     consent_withdrawn      Consent withdrawn: the customer had withdrawn the consent by then
-- variant: verdict-consent-expired       consent_expired        Consent expired: the consent had expired by then
-- variant: verdict-purpose-not-covered   purpose_not_covered    Purpose not covered: the consent does not allow the event's purpose
-- variant: verdict-category-not-covered  category_not_covered   Category not covered: the consent does not allow some of the event's data categories
-- param: since Date                   first day of the period (inclusive, UTC)
-- param: until Date                   day after the period (exclusive, UTC)
-- param: subject String = ''          only this customer's subject_id (empty: all)
-- param: recipient String = ''        only this recipient_id (empty: all)
-- param: category String = ''         only events touching this data category (empty: all)
-- param: jurisdiction String = ''     only this jurisdiction, e.g. US-NY (empty: all)
-- param: disclosures_only UInt64 = 0  1: only disclosures (share, export, transfer to a third party)
SELECT
    event_id,
    occurred_at,
    subject_id,
    actor_id,
    actor_type,
    action,
    recipient_id,
    recipient_type,
    purpose,
    data_categories,
    record_count,
    legal_basis,
    jurisdiction,
    is_disclosure,
    verdict,
    verdict_consent_id AS consent_id,
    verdict_detail AS detail,
    missing_categories
FROM {{.DB}}.access_verdicts FINAL
WHERE occurred_at >= @since AND occurred_at < @until
  AND verdict = @variant
  AND (@subject = '' OR subject_id = @subject)
  AND (@recipient = '' OR recipient_id = @recipient)
  AND (@category = '' OR has(data_categories, @category))
  AND (@jurisdiction = '' OR jurisdiction = @jurisdiction)
  AND (@disclosures_only = 0 OR {{disclosure}})
ORDER BY occurred_at, event_id
