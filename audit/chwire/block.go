package chwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind is how a column's values are laid out.
type Kind uint8

const (
	// Fixed is a fixed-width number or time (UInt8 … Int64, DateTime),
	// Width bytes little-endian per row, as ClickHouse holds it.
	Fixed Kind = iota
	// String is a String column.
	String
	// Strings is an Array(String) column.
	Strings
	// FixedString is a FixedString(Width) column.
	FixedString
	// FixedStrings is an Array(FixedString(Width)) column.
	FixedStrings
)

// maxString bounds one string's length: a longer one is a corrupt stream.
const maxString = 1 << 30

// Block is one block of a result. Its columns' buffers are reused by the
// next Reader.Next into it.
type Block struct {
	Rows    int
	Columns []Column
}

// Column is one column of a Block.
type Column struct {
	Name, Type string
	Kind       Kind
	// Width is the byte width of a Fixed column's values.
	Width int
	// fixed holds a Fixed column's values back to back; for an array
	// column, the offsets as sent, before they are checked into offsets.
	fixed []byte
	// data holds the strings of a String or Strings column as sent, each
	// after its length; string i is data[starts[i]:ends[i]].
	data         []byte
	starts, ends []int
	// offsets[row] is where row's array ends, in strings (Strings).
	offsets []uint64
}

// Index is the index of the column named name, or -1.
func (b *Block) Index(name string) int {
	for i := range b.Columns {
		if b.Columns[i].Name == name {
			return i
		}
	}
	return -1
}

// Fixed is row's value of a Fixed column, little-endian.
func (c *Column) Fixed(row int) []byte { return c.fixed[row*c.Width : (row+1)*c.Width] }

// Bytes is row's value of a String or FixedString column, or element i of
// a Strings or FixedStrings column's elements (see Elems).
func (c *Column) Bytes(i int) []byte {
	if c.Kind == FixedString || c.Kind == FixedStrings {
		return c.data[i*c.Width : (i+1)*c.Width]
	}
	return c.data[c.starts[i]:c.ends[i]]
}

// Elems is the range [from, to) of row's elements in a Strings or
// FixedStrings column; read
// each with Bytes.
func (c *Column) Elems(row int) (from, to int) {
	if row > 0 {
		from = int(c.offsets[row-1])
	}
	return from, int(c.offsets[row])
}

// kindOf is how a column of type t is read.
func kindOf(t string) (Kind, int, error) {
	if w, ok := fixedStringWidth(t); ok {
		return FixedString, w, nil
	}
	if inner, ok := strings.CutPrefix(t, "Array("); ok {
		if w, ok := fixedStringWidth(strings.TrimSuffix(inner, ")")); ok {
			return FixedStrings, w, nil
		}
	}
	switch {
	case t == "String":
		return String, 0, nil
	case t == "Array(String)":
		return Strings, 0, nil
	case t == "UInt8" || t == "Int8":
		return Fixed, 1, nil
	case t == "UInt16" || t == "Int16":
		return Fixed, 2, nil
	case t == "UInt32" || t == "Int32" || t == "DateTime" || strings.HasPrefix(t, "DateTime("):
		return Fixed, 4, nil
	case t == "UInt64" || t == "Int64":
		return Fixed, 8, nil
	}
	return 0, 0, fmt.Errorf("chwire: type %s is not read (String, FixedString, arrays of them, integers and DateTime are)", t)
}

// fixedStringWidth is N of FixedString(N).
func fixedStringWidth(t string) (int, bool) {
	n, ok := strings.CutPrefix(t, "FixedString(")
	if !ok || !strings.HasSuffix(n, ")") {
		return 0, false
	}
	w, err := strconv.Atoi(strings.TrimSuffix(n, ")"))
	return w, err == nil && w > 0 && w <= 1<<16
}

// block reads a data block into b.
func (rd *Reader) block(b *Block) error {
	if err := rd.skipStr(); err != nil { // external table name
		return err
	}
	for { // block info: numbered fields, 0 ends
		f, err := rd.uvarint()
		if err != nil {
			return err
		}
		if f == 0 {
			break
		}
		var skip [4]byte
		switch f {
		case 1: // is_overflows
			_, err = rd.full(skip[:1])
		case 2: // bucket_num
			_, err = rd.full(skip[:4])
		default:
			err = fmt.Errorf("chwire: unknown block info field %d", f)
		}
		if err != nil {
			return err
		}
	}
	ncols, err := rd.uvarint()
	if err != nil {
		return err
	}
	nrows, err := rd.uvarint()
	if err != nil {
		return err
	}
	if ncols > 1<<16 || nrows > 1<<30 {
		return fmt.Errorf("chwire: a block of %d columns and %d rows: corrupt stream", ncols, nrows)
	}
	if cap(b.Columns) < int(ncols) {
		b.Columns = make([]Column, ncols)
	}
	b.Columns = b.Columns[:ncols]
	for i := range b.Columns {
		if err := rd.column(&b.Columns[i], int(nrows)); err != nil {
			return err
		}
	}
	b.Rows = int(nrows)
	return nil
}

func (rd *Reader) column(c *Column, rows int) error {
	var err error
	if c.Name, err = rd.strReuse(c.Name); err != nil {
		return err
	}
	if c.Type, err = rd.strReuse(c.Type); err != nil {
		return err
	}
	if c.Kind, c.Width, err = kindOf(c.Type); err != nil {
		return fmt.Errorf("column %s: %w", c.Name, err)
	}
	switch c.Kind {
	case Fixed:
		c.fixed = grow(c.fixed[:0], rows*c.Width)
		_, err = rd.full(c.fixed)
		return err
	case FixedString:
		c.data = grow(c.data[:0], rows*c.Width)
		_, err = rd.full(c.data)
		return err
	case Strings, FixedStrings:
		c.fixed = grow(c.fixed[:0], rows*8)
		raw := c.fixed
		if _, err := rd.full(raw); err != nil {
			return err
		}
		c.offsets = c.offsets[:0]
		var last uint64
		for i := range rows {
			o := binary.LittleEndian.Uint64(raw[i*8:])
			if o < last || o-last > maxString {
				return errors.New("chwire: array offsets out of order: corrupt stream")
			}
			c.offsets, last = append(c.offsets, o), o
		}
		if c.Kind == FixedStrings {
			if last > maxString/uint64(c.Width) {
				return errors.New("chwire: an array too long: corrupt stream")
			}
			c.data = grow(c.data[:0], int(last)*c.Width)
			_, err = rd.full(c.data)
			return err
		}
		return rd.strings(c, int(last))
	default:
		return rd.strings(c, rows)
	}
}

// strings reads n strings into c. It takes as many as the input buffer
// holds whole in one copy, lengths and all, and only a string longer than
// what is left of the buffer by itself.
func (rd *Reader) strings(c *Column, n int) error {
	c.data, c.starts, c.ends = c.data[:0], c.starts[:0], c.ends[:0]
	in := rd.in
	for len(c.ends) < n {
		buf, p := in.buf[:in.w], in.r
		base := len(c.data) - p // data offset = buffer offset + base
		for len(c.ends) < n {
			l, k := binary.Uvarint(buf[p:])
			if k <= 0 || l > uint64(len(buf)-p-k) {
				break
			}
			c.starts = append(c.starts, base+p+k)
			p += k + int(l)
			c.ends = append(c.ends, base+p)
		}
		c.data = append(c.data, buf[in.r:p]...)
		in.r = p
		if len(c.ends) == n {
			break
		}
		if err := rd.longString(c); err != nil {
			return err
		}
	}
	return nil
}

// longString reads the next string of c when the input buffer does not
// hold it whole: it fills the buffer, or reads a string longer than it
// directly.
func (rd *Reader) longString(c *Column) error {
	in := rd.in
	if l, k := binary.Uvarint(in.buf[in.r:in.w]); k > 0 && l <= maxString && int(l)+k > bufSize {
		in.r += k
		c.starts = append(c.starts, len(c.data))
		var err error
		c.data, err = in.appendBytes(c.data, int(l))
		c.ends = append(c.ends, len(c.data))
		return err
	} else if k < 0 || l > maxString {
		return fmt.Errorf("chwire: a string of %d bytes: corrupt stream", l)
	}
	return in.more()
}

func (rd *Reader) full(b []byte) (int, error) { return len(b), rd.in.full(b) }

func (rd *Reader) uvarint() (uint64, error) { return rd.in.uvarint() }

func (rd *Reader) uvarints(n int) error {
	for range n {
		if _, err := rd.in.uvarint(); err != nil {
			return err
		}
	}
	return nil
}

func (rd *Reader) str() (string, error) {
	b, err := rd.in.appendString(nil)
	return string(b), err
}

// strReuse reads a string, returning old when it is the same (a column's
// name and type repeat in every block).
func (rd *Reader) strReuse(old string) (string, error) {
	l, err := rd.in.length()
	if err != nil {
		return "", err
	}
	if l <= bufSize {
		if err := rd.in.fill(l); err != nil {
			return "", err
		}
		b := rd.in.buf[rd.in.r : rd.in.r+l]
		rd.in.r += l
		if string(b) == old {
			return old, nil
		}
		return string(b), nil
	}
	b := make([]byte, l)
	return string(b), rd.in.full(b)
}

func (rd *Reader) skipStr() error {
	l, err := rd.in.length()
	if err != nil {
		return err
	}
	return rd.in.discard(l)
}

// writer builds a client packet.
type writer struct{ b []byte }

func (w *writer) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }

func (w *writer) str(s string) {
	w.uvarint(uint64(len(s)))
	w.b = append(w.b, s...)
}

// emptyBlock is a data packet of no rows: the end of the external tables.
func (w *writer) emptyBlock() {
	w.uvarint(clientData)
	w.str("")
	w.b = append(w.b, 1, 0, 2, 0xff, 0xff, 0xff, 0xff, 0) // is_overflows 0, bucket_num -1, end
	w.uvarint(0)                                          // columns
	w.uvarint(0)                                          // rows
}
