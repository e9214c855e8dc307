package ingest

// KeyHash exposes keyHash to the external tests.
var KeyHash = keyHash
