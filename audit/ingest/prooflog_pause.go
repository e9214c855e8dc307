package ingest

// Pause waits until every batch being stored has its leaves appended, then
// holds the next batches back until resume is called. Retention drops a
// partition in between, so no record lands in it after its leaves were
// sealed, or after its legal holds were read. Writes wait meanwhile; the
// spool keeps acknowledging.
func (l *ProofLog) Pause() (resume func()) {
	l.gate.Lock()
	return l.gate.Unlock
}
