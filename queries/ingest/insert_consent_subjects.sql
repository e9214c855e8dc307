INSERT INTO {{.MetaDB}}.consent_subjects (consent_id, subject_id)
