{{/* The leaf hashes of a row of log_leaf_runs, in leaf order, as lowercase hex: leaf_hashes holds them joined by NUL bytes, as ingest.ProofLog writes them; an empty string is a run of none. */}}
if(empty(leaf_hashes), emptyArrayString(), splitByChar('\0', leaf_hashes))
