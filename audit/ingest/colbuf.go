package ingest

import (
	"fmt"
	"slices"
	"unsafe"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// strCol is a String column under construction. Values are appended in row
// order to one contiguous arena, so decoding reads the spooled records
// sequentially and handing the column to the driver reads the arena
// sequentially too — a column-by-column copy straight out of row-ordered
// records would miss the CPU cache on almost every value. The arena is
// reused from batch to batch.
type strCol struct {
	buf  []byte
	ends []int // ends[i] is the end of value i in buf
}

func (c *strCol) addBytes(s []byte) {
	c.buf = append(c.buf, s...)
	c.ends = append(c.ends, len(c.buf))
}

func (c *strCol) len() int { return len(c.ends) }

func (c *strCol) start(i int) int {
	if i == 0 {
		return 0
	}
	return c.ends[i-1]
}

// copies returns dst holding copies of all values, as views of one copy
// of the arena in *keep (whose memory is reused): they stay valid until the
// next call with keep, however the column changes meanwhile.
func (c *strCol) copies(dst []string, keep *[]byte) []string {
	*keep = append((*keep)[:0], c.buf...)
	dst = dst[:0]
	start := 0
	for _, end := range c.ends {
		dst = append(dst, view((*keep)[start:end]))
		start = end
	}
	return dst
}

// value returns value i of c as a string sharing the arena's memory, valid
// like the views of views.
func (c *strCol) value(i int) string {
	return view(c.buf[c.start(i):c.ends[i]])
}

// view is b as a string sharing its memory; valid while b is unchanged.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// views returns dst holding values [lo, hi) as strings that share the
// arena's memory, without copying. They are valid only until the arena is
// next written (the next batch's reset and add), so they must not outlive
// the append of one block to the driver, which copies them.
func (c *strCol) views(dst []string, lo, hi int) []string {
	dst = dst[:0]
	start := c.start(lo)
	for _, end := range c.ends[lo:hi] {
		dst = append(dst, view(c.buf[start:end]))
		start = end
	}
	return dst
}

// viewsAt returns dst holding the values at idx, in that order, as views
// like those of views.
func (c *strCol) viewsAt(dst []string, idx []int32) []string {
	dst = dst[:0]
	for _, i := range idx {
		dst = append(dst, c.value(int(i)))
	}
	return dst
}

// reserve makes room for n values in all, about as long as those held.
func (c *strCol) reserve(n int) {
	if k := len(c.ends); k > 0 && n > k {
		c.buf = slices.Grow(c.buf, len(c.buf)/k*(n-k)+len(c.buf)/8)
		c.ends = slices.Grow(c.ends, n-k)
	}
}

func (c *strCol) reset() { c.buf, c.ends = c.buf[:0], c.ends[:0] }

// keepOnly drops the values whose keep[i] is false, in place.
func (c *strCol) keepOnly(keep []bool) {
	w := compactor{c: c}
	start := 0
	for i, end := range c.ends {
		if keep[i] {
			w.move(start, end)
		}
		start = end
	}
	w.done()
}

// compactor moves a strCol's kept values to its front. Values are visited
// in order, each read before anything is written at or after its index.
type compactor struct {
	c      *strCol
	dst, n int
}

// move keeps the value at buf[from:to].
func (w *compactor) move(from, to int) {
	w.dst += copy(w.c.buf[w.dst:], w.c.buf[from:to])
	w.c.ends[w.n] = w.dst
	w.n++
}

func (w *compactor) done() { w.c.buf, w.c.ends = w.c.buf[:w.dst], w.c.ends[:w.n] }

// arrCol is an Array(String) column under construction: its elements are
// a strCol, rows[i] the end of row i's elements.
type arrCol struct {
	elems strCol
	rows  []int
	vals  []string  // scratch: one block's elements
	ptrs  []*string // scratch: pointers to vals
	ends  []int     // scratch: the end of each row's elements in vals
}

func (a *arrCol) endRow() { a.rows = append(a.rows, a.elems.len()) }

// first returns the index of row r's first element.
func (a *arrCol) first(r int) int {
	if r == 0 {
		return 0
	}
	return a.rows[r-1]
}

func (a *arrCol) reset() {
	a.elems.reset()
	a.rows = a.rows[:0]
}

// reserve makes room for n rows in all, like those held.
func (a *arrCol) reserve(n int) {
	if k := len(a.rows); k > 0 && n > k {
		a.elems.reserve(a.elems.len() * n / k)
		a.rows = slices.Grow(a.rows, n-k)
	}
}

// keepOnly drops the rows whose keep[i] is false, in place.
func (a *arrCol) keepOnly(keep []bool) {
	w := compactor{c: &a.elems}
	start, elem, rows := 0, 0, 0
	for i, rowEnd := range a.rows {
		for ; elem < rowEnd; elem++ {
			end := a.elems.ends[elem]
			if keep[i] {
				w.move(start, end)
			}
			start = end
		}
		if keep[i] {
			a.rows[rows] = w.n
			rows++
		}
	}
	w.done()
	a.rows = a.rows[:rows]
}

// appendTo appends rows [lo, hi) — or, with perm, rows perm[lo:hi] — to a
// batch column, one at a time as []*string: the driver's Array fast path,
// which neither reflects nor boxes each element.
func (a *arrCol) appendTo(col driver.BatchColumn, lo, hi int, perm []int32) error {
	a.vals, a.ends = a.vals[:0], a.ends[:0]
	if perm == nil {
		first := a.first(lo)
		a.vals = a.elems.views(a.vals, first, a.rows[hi-1])
		for _, end := range a.rows[lo:hi] {
			a.ends = append(a.ends, end-first)
		}
	} else {
		for _, r := range perm[lo:hi] {
			for e := a.first(int(r)); e < a.rows[r]; e++ {
				a.vals = append(a.vals, a.elems.value(e))
			}
			a.ends = append(a.ends, len(a.vals))
		}
	}
	a.ptrs = a.ptrs[:0]
	for i := range a.vals {
		a.ptrs = append(a.ptrs, &a.vals[i])
	}
	start := 0
	for _, end := range a.ends {
		// Boxing the row's slice header costs one small allocation per
		// row; the elements are pointers, so they are not boxed again.
		if err := col.AppendRow(a.ptrs[start:end:end]); err != nil {
			return err
		}
		start = end
	}
	clear(a.ptrs)
	clear(a.vals)
	return nil
}

// block appends rows [lo, hi) of columns to a batch, in order — or, when
// perm is set, rows perm[lo:hi].
type block struct {
	b      driver.Batch
	lo, hi int
	perm   []int32
	vals   []string // scratch for String columns' views
	str    []string // scratch for gathered columns
	i64    []int64  // scratch for gathered fixed-size columns
	u64    []uint64
	u8     []uint8
}

// appendColumns appends the block's rows of each column to b, in order. A
// column is a *strCol, an *arrCol, or a slice the driver appends in bulk.
func (k *block) appendColumns(cols ...any) error {
	var idx []int32
	if k.perm != nil {
		idx = k.perm[k.lo:k.hi]
	}
	for i, c := range cols {
		var err error
		col := k.b.Column(i)
		switch c := c.(type) {
		case *strCol:
			if idx != nil {
				k.vals = c.viewsAt(k.vals, idx)
			} else {
				k.vals = c.views(k.vals, k.lo, k.hi)
			}
			err = col.Append(k.vals)
			clear(k.vals) // drop the views
		case *arrCol:
			err = c.appendTo(col, k.lo, k.hi, k.perm)
		case []string:
			err = col.Append(pick(&k.str, c, k.lo, k.hi, idx))
		case []int64:
			err = col.Append(pick(&k.i64, c, k.lo, k.hi, idx))
		case []uint64:
			err = col.Append(pick(&k.u64, c, k.lo, k.hi, idx))
		case []uint8:
			err = col.Append(pick(&k.u8, c, k.lo, k.hi, idx))
		default:
			err = fmt.Errorf("unsupported column buffer %T", c)
		}
		if err != nil {
			return fmt.Errorf("append column %d: %w", i, err)
		}
	}
	return nil
}

// pick returns s[lo:hi], or with idx the elements at idx gathered into
// *scratch.
func pick[T any](scratch *[]T, s []T, lo, hi int, idx []int32) []T {
	if idx == nil {
		return s[lo:hi]
	}
	*scratch = gather(*scratch, s, idx)
	return *scratch
}

// grow makes room for n elements in all in s.
func grow[T any](s []T, n int) []T { return slices.Grow(s, max(n-len(s), 0)) }

// compact keeps the elements of s whose keep[i] is true, in place.
func compact[T any](s []T, keep []bool) []T {
	out := s[:0]
	for i := range s {
		if keep[i] {
			out = append(out, s[i])
		}
	}
	return out
}

// seconds converts Unix nanoseconds to the Unix seconds of a DateTime,
// rounding down like time.Time.Unix, into dst.
func seconds(dst []int64, ns []int64) []int64 {
	dst = dst[:0]
	for _, v := range ns {
		s := v / 1e9
		if v%1e9 < 0 {
			s--
		}
		dst = append(dst, s)
	}
	return dst
}

// repeat returns dst holding n copies of s.
func repeat(dst []string, s string, n int) []string {
	dst = dst[:0]
	for range n {
		dst = append(dst, s)
	}
	return dst
}
