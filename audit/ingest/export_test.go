package ingest

// KeyHash exposes keyHash to the external tests.
var KeyHash = keyHash

// InFlightBytes is the request memory the ingestor holds right now.
func (in *Ingestor) InFlightBytes() int64 { return in.inFlight.used.Load() }

// SetAfterInsert makes the writers run f after inserting a batch and before
// appending its leaves, as a crash between the two would stop them.
func (l *ProofLog) SetAfterInsert(f func() error) { l.afterInsert.Store(&f) }
