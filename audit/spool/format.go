package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	segSuffix     = ".seg"
	segNameDigits = 20
	segHeaderSize = 16
	recHeaderSize = 20
	ackFileName   = "ack"
	ackTmpName    = "ack.tmp"
	ackFileSize   = 20
	lockFileName  = "LOCK"

	// MaxPayload is the largest payload Append accepts, whatever MaxBytes is.
	MaxPayload = 1 << 30
)

var (
	segMagic   = [8]byte{'P', 'R', 'V', 'S', 'P', 'L', '0', '1'}
	ackMagic   = [8]byte{'P', 'R', 'V', 'A', 'C', 'K', '0', '1'}
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// segment describes one segment file. first and path never change; last and
// size are the committed state, written by the committer under Spool.mu.
type segment struct {
	first uint64 // seq of the first entry, as in the file name
	last  uint64 // seq of the last committed entry; first-1 while empty
	size  int64  // committed bytes, segment header included
	path  string
}

func segmentName(first uint64) string {
	return fmt.Sprintf("%0*d%s", segNameDigits, first, segSuffix)
}

func parseSegmentName(name string) (uint64, bool) {
	base, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(base) != segNameDigits {
		return 0, false
	}
	v, err := strconv.ParseUint(base, 10, 64)
	return v, err == nil && v > 0
}

// recHeader is a decoded entry header.
type recHeader struct {
	length uint32
	crc    uint32
	seq    uint64
	count  uint32
}

func parseRecHeader(b []byte) recHeader {
	return recHeader{
		length: binary.LittleEndian.Uint32(b[0:4]),
		crc:    binary.LittleEndian.Uint32(b[4:8]),
		seq:    binary.LittleEndian.Uint64(b[8:16]),
		count:  binary.LittleEndian.Uint32(b[16:20]),
	}
}

// recordCRC is the CRC-32C of an entry's len, seq, count and payload.
func recordCRC(hdr, payload []byte) uint32 {
	c := crc32.Update(0, castagnoli, hdr[0:4])
	c = crc32.Update(c, castagnoli, hdr[8:recHeaderSize])
	return crc32.Update(c, castagnoli, payload)
}

// appendRecord appends the encoded entry to dst.
func appendRecord(dst []byte, seq uint64, count uint32, payload []byte) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.LittleEndian.AppendUint32(dst, 0) // crc, filled in below
	dst = binary.LittleEndian.AppendUint64(dst, seq)
	dst = binary.LittleEndian.AppendUint32(dst, count)
	dst = append(dst, payload...)
	hdr := dst[start : start+recHeaderSize]
	binary.LittleEndian.PutUint32(hdr[4:8], recordCRC(hdr, payload))
	return dst
}

func segHeader(first uint64) []byte {
	b := make([]byte, 0, segHeaderSize)
	b = append(b, segMagic[:]...)
	return binary.LittleEndian.AppendUint64(b, first)
}

// createSegment creates the segment file for first and makes its header
// durable. The caller fsyncs the directory.
func createSegment(dir string, first uint64, sync bool) (*os.File, *segment, error) {
	seg := &segment{first: first, last: first - 1, size: segHeaderSize,
		path: filepath.Join(dir, segmentName(first))}
	f, err := os.OpenFile(seg.path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, nil, fmt.Errorf("create segment: %w", err)
	}
	if err := writeSegHeader(f, first, sync); err != nil {
		f.Close()
		os.Remove(seg.path)
		return nil, nil, fmt.Errorf("create segment %s: %w", seg.path, err)
	}
	return f, seg, nil
}

func writeSegHeader(f *os.File, first uint64, sync bool) error {
	if _, err := f.WriteAt(segHeader(first), 0); err != nil {
		return err
	}
	if sync {
		return f.Sync()
	}
	return nil
}

// listSegments returns the directory's segments ordered by first seq.
func listSegments(dir string) ([]*segment, error) {
	des, err := os.ReadDir(dir) // sorted by name, hence by first seq
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	var segs []*segment
	for _, de := range des {
		first, ok := parseSegmentName(de.Name())
		if !ok || !de.Type().IsRegular() {
			continue
		}
		segs = append(segs, &segment{first: first, last: first - 1,
			path: filepath.Join(dir, de.Name())})
	}
	return segs, nil
}

// readAckFile returns the persisted ack position; ok is false when there is
// none. A damaged ack file is reported as an error wrapping ErrCorrupt.
func readAckFile(dir string) (seq uint64, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, ackFileName))
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read ack file: %w", err)
	}
	if len(b) != ackFileSize || [8]byte(b[0:8]) != ackMagic ||
		crc32.Checksum(b[0:16], castagnoli) != binary.LittleEndian.Uint32(b[16:20]) {
		return 0, false, fmt.Errorf("read ack file: %w", ErrCorrupt)
	}
	return binary.LittleEndian.Uint64(b[8:16]), true, nil
}

// writeAckFile atomically replaces the ack file: temp file, fsync, rename,
// fsync of the directory.
func writeAckFile(dir string, seq uint64, sync bool) error {
	b := make([]byte, 0, ackFileSize)
	b = append(b, ackMagic[:]...)
	b = binary.LittleEndian.AppendUint64(b, seq)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	tmp := filepath.Join(dir, ackTmpName)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("write ack file: %w", err)
	}
	_, err = f.Write(b)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, ackFileName))
	}
	if err == nil && sync {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("write ack file: %w", err)
	}
	return nil
}

// syncDir fsyncs a directory so that file creations, renames and deletions
// in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// readFull is io.ReadFull that reports a short read as io.ErrUnexpectedEOF
// and a read at end of input as io.EOF.
func readFull(r io.Reader, b []byte) error {
	_, err := io.ReadFull(r, b)
	return err
}
