-- The subjects whose rows hold each consent of a set: the consent_ids
-- arrive as the external table `lookup_ids` (id String); the primary key
-- (consent_id, subject_id) limits the read to their granules.
SELECT DISTINCT consent_id, subject_id
FROM {{.MetaDB}}.consent_subjects
WHERE consent_id IN (SELECT id FROM lookup_ids)
