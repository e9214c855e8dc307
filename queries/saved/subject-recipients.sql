-- title: Who received one customer's data
-- description: Every recipient a customer's data was disclosed to, with the
--   categories, purposes, volumes and first and last disclosure: the core of
--   an answer to a data subject access request. covered and violations count
--   the disclosures a consent allowed and those no consent covered (stored
--   verdicts), and verdicts lists the distinct verdicts.
-- param: subject String    the customer's subject_id
SELECT
    recipient_id,
    recipient_type,
    groupUniqArrayArray(data_categories) AS categories,
    groupUniqArray(purpose) AS purposes,
    count() AS events,
    sum(record_count) AS records,
    countIf(verdict = 'covered') AS covered,
    countIf({{violation}}) AS violations,
    arraySort(groupUniqArray(verdict)) AS verdicts,
    min(occurred_at) AS first_shared,
    max(occurred_at) AS last_shared
FROM {{.DB}}.access_verdicts FINAL
WHERE subject_id = @subject
  AND {{disclosure}}
GROUP BY recipient_id, recipient_type
ORDER BY last_shared DESC, recipient_id
