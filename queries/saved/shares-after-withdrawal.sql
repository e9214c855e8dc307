-- title: Shares after withdrawal
-- description: Disclosures made while the customer had withdrawn their consent to
--   that recipient: at the time of the event, at least one consent of the
--   (customer, recipient) pair was withdrawn and none was granted. Optional
--   filters narrow to one recipient, data category or jurisdiction.
-- param: since Date                 first day of the period (inclusive, UTC)
-- param: until Date                 day after the period (exclusive, UTC)
-- param: recipient String = ''      only this recipient_id (empty: all)
-- param: category String = ''       only events touching this data category (empty: all)
-- param: jurisdiction String = ''   only this jurisdiction, e.g. US-NY (empty: all)
SELECT
    event_id,
    any(e_occurred_at) AS occurred_at,
    any(e_subject_id) AS subject_id,
    any(e_recipient_id) AS recipient_id,
    any(e_purpose) AS purpose,
    any(e_categories) AS data_categories,
    any(e_jurisdiction) AS jurisdiction,
    groupArrayIf(c_consent_id, state = 'withdrawn') AS withdrawn_consents,
    maxIf(state_at, state = 'withdrawn') AS withdrawn_at
FROM
(
    SELECT
        event_id, c_consent_id,
        any(occurred_at) AS e_occurred_at, any(subject_id) AS e_subject_id,
        any(recipient_id) AS e_recipient_id, any(purpose) AS e_purpose,
        any(data_categories) AS e_categories, any(jurisdiction) AS e_jurisdiction,
        argMax(c_status, (c_effective_ns, c_ingest_seq)) AS state,
        max(c_effective_at) AS state_at
    FROM
    (
        SELECT event_id, occurred_at, occurred_ns, subject_id, recipient_id, purpose, data_categories, jurisdiction
        FROM {{.DB}}.access_events FINAL
        WHERE occurred_at >= @since AND occurred_at < @until
          AND {{disclosure}}
          AND (@recipient = '' OR recipient_id = @recipient)
          AND (@category = '' OR has(data_categories, @category))
          AND (@jurisdiction = '' OR jurisdiction = @jurisdiction)
    )
    ALL INNER JOIN
    (
        SELECT subject_id, recipient_id, consent_id AS c_consent_id, status AS c_status,
               effective_ns AS c_effective_ns, effective_at AS c_effective_at, ingest_seq AS c_ingest_seq
        FROM {{.DB}}.consent_events FINAL
    ) USING (subject_id, recipient_id)
    WHERE c_effective_ns <= occurred_ns
    GROUP BY event_id, c_consent_id
)
GROUP BY event_id
HAVING countIf(state = 'granted') = 0
ORDER BY occurred_at, event_id
