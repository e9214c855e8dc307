-- One state of a legal hold (see migration 0090).
INSERT INTO {{.MetaDB}}.legal_holds
    (hold_id, kind, subject_id, period_from, period_to, reason, set_by, set_at,
     lifted, lifted_by, lifted_at, lift_reason, version)
