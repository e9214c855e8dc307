package ingest

// KeyHash exposes keyHash to the external tests.
var KeyHash = keyHash

// InFlightBytes is the request memory the ingestor holds right now.
func (in *Ingestor) InFlightBytes() int64 { return in.inFlight.used.Load() }
