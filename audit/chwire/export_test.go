package chwire

// SetBufSize sets the input buffer's size of the Readers made next, for
// tests, and returns what restores it.
func SetBufSize(n int) (restore func()) {
	old := bufSize
	bufSize = n
	return func() { bufSize = old }
}
