{{/* The record keys of a row of log_leaf_runs, in leaf order: record_keys holds them joined by NUL bytes (which no key ingested can contain), as ingest.ProofLog writes them; an empty string is a run of none. */}}
if(empty(record_keys), emptyArrayString(), splitByChar('\0', record_keys))
