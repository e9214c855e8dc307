package chwire

import (
	"errors"
	"fmt"
	"io"
)

// bufSize is the input buffer's size (a variable for tests).
var bufSize = 1 << 20

// input buffers what the server sends; its methods read the protocol's
// primitives from the buffer directly, which is what makes a scan of
// hundreds of millions of short strings cheap (bufio's Reader through
// io.ReadFull cost three times as much per string).
type input struct {
	src  io.Reader
	buf  []byte
	r, w int // the buffered bytes are buf[r:w]
}

func newInput(src io.Reader) *input { return &input{src: src, buf: make([]byte, bufSize)} }

// fill buffers at least n bytes (n ≤ bufSize).
func (in *input) fill(n int) error {
	if in.w-in.r >= n {
		return nil
	}
	in.w = copy(in.buf, in.buf[in.r:in.w])
	in.r = 0
	for in.w < n {
		k, err := in.src.Read(in.buf[in.w:])
		in.w += k
		if err != nil && in.w < n {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

func (in *input) readByte() (byte, error) {
	if err := in.fill(1); err != nil {
		return 0, err
	}
	in.r++
	return in.buf[in.r-1], nil
}

// full reads len(b) bytes into b.
func (in *input) full(b []byte) error {
	n := copy(b, in.buf[in.r:in.w])
	in.r += n
	if n < len(b) {
		_, err := io.ReadFull(in.src, b[n:])
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}

// discard skips n bytes.
func (in *input) discard(n int) error {
	for n > 0 {
		if err := in.fill(1); err != nil {
			return err
		}
		k := min(n, in.w-in.r)
		in.r, n = in.r+k, n-k
	}
	return nil
}

func (in *input) uvarint() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		c, err := in.readByte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, nil
		}
	}
	return 0, errors.New("chwire: varint overflows 64 bits: corrupt stream")
}

// length reads a string's length.
func (in *input) length() (int, error) {
	l, err := in.uvarint()
	if err != nil {
		return 0, err
	}
	if l > maxString {
		return 0, fmt.Errorf("chwire: a string of %d bytes: corrupt stream", l)
	}
	return int(l), nil
}

// appendString reads a string and appends it to dst.
func (in *input) appendString(dst []byte) ([]byte, error) {
	l, err := in.length()
	if err != nil {
		return dst, err
	}
	return in.appendBytes(dst, l)
}

// appendBytes reads n bytes and appends them to dst.
func (in *input) appendBytes(dst []byte, n int) ([]byte, error) {
	start := len(dst)
	dst = grow(dst, n)
	return dst, in.full(dst[start:])
}

// more buffers at least one byte more than is buffered (and moves what is
// to the front), so that a string the buffer held in part can be read.
func (in *input) more() error {
	if in.w-in.r >= bufSize {
		return errors.New("chwire: input buffer full")
	}
	return in.fill(in.w - in.r + 1)
}

// grow extends b by n bytes, reallocating (doubling) when needed.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}
