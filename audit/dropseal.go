package audit

import "time"

// LeafRange is a run of proof log leaf indexes, First through Last
// inclusive.
type LeafRange struct{ First, Last uint64 }

// SealedDrop is one partition dropped by the retention job, as a verifier
// of the proof log sees it: the leaves of the records the partition held
// when it was dropped, and whether the drop's signature holds. A leaf
// whose record is gone counts as retention, never as tampering, only when
// it lies in the Leaves of a drop whose Problem is empty.
type SealedDrop struct {
	DropID    string
	DB        string
	Table     string
	Partition string
	Rows      uint64
	DoneAt    time.Time
	Leaves    []LeafRange
	// Problem is "" when the drop's signed seal verifies with the proof
	// key and matches its recorded leaves; otherwise it says why not
	// (unsigned, signed by another key, leaves altered since signed).
	Problem string
}
