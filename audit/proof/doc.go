// Package proof verifies the proof log and proves records' inclusion.
package proof
