package chwire_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit/chserver"
	"github.com/privaudit/privaudit/audit/chwire"
	"github.com/privaudit/privaudit/audit/store"
)

// server is a managed ClickHouse with a clickhouse-go connection and the
// same server's chwire options.
type server struct {
	conn driver.Conn
	opts chwire.Options
}

func start(t *testing.T) *server {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	ch, err := chserver.Start(ctx, chserver.Options{Dir: filepath.Join(t.TempDir(), "clickhouse"), Logger: log})
	if err != nil {
		t.Fatalf("start clickhouse: %v", err)
	}
	t.Cleanup(func() { _ = ch.Stop(context.Background()) })
	conn, err := store.Open(ctx, store.Options{Addrs: []string{ch.Addr}, User: ch.AdminUser, Password: ch.AdminPassword, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &server{conn: conn, opts: chwire.Options{Addrs: []string{ch.Addr}, User: ch.AdminUser, Password: ch.AdminPassword}}
}

// row is one row of the test table, as clickhouse-go scans it.
type row struct {
	ID     uint32
	S      string
	SS     []string
	FS     string
	FSS    []string
	U8     uint8
	I64    int64
	U64    uint64
	At     time.Time
	Signed int32
}

const table = `CREATE TABLE t (id UInt32, s String, ss Array(String), fs FixedString(4), fss Array(FixedString(2)),
	u8 UInt8, i64 Int64, u64 UInt64, at DateTime, signed Int32) ENGINE = MergeTree ORDER BY id`

// TestReadsWhatClickHouseHolds: every type chwire reads comes back as
// clickhouse-go reads it, over many blocks, including empty values, a
// string longer than the input buffer and lengths of several varint bytes.
func TestReadsWhatClickHouseHolds(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	if err := s.conn.Exec(ctx, table); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("é", 1<<20) // 2 MiB, past the 1 MiB buffer
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO t (id, s, ss, fs, fss, u8, i64, u64, at, signed)")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 8, 6, 0, 0, 0, time.UTC)
	for i := range 50 {
		str := strings.Repeat("x", i*7) // lengths past 127 take two varint bytes
		ss := []string{}
		for j := range i % 4 {
			ss = append(ss, fmt.Sprint("e", j, str))
		}
		if i == 17 {
			str, ss = big, []string{big, ""}
		}
		fss := []string{"ab", "c"}[:i%3%2+i%2]
		if err := b.Append(uint32(i), str, ss, "q"+fmt.Sprint(i%10), fss, uint8(i), int64(-i*1e12), uint64(i)<<40, at.Add(time.Duration(i)*time.Hour), int32(-i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	const q = "SELECT id, s, ss, fs, fss, u8, i64, u64, at, signed FROM t ORDER BY id"
	var want []row
	rs, err := s.conn.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.ID, &r.S, &r.SS, &r.FS, &r.FSS, &r.U8, &r.I64, &r.U64, &r.At, &r.Signed); err != nil {
			t.Fatal(err)
		}
		want = append(want, r)
	}
	rs.Close()
	o := s.opts
	o.Settings = map[string]uint64{"max_block_size": 7}
	for _, size := range []int{1 << 20, 61} { // 61: lengths and strings split across refills
		restore := chwire.SetBufSize(size)
		got, blocks := readAll(t, ctx, o, q)
		restore()
		if blocks < 7 {
			t.Errorf("buffer %d: %d blocks, want at least 7 of max_block_size 7", size, blocks)
		}
		if len(got) != len(want) || len(want) != 50 {
			t.Fatalf("buffer %d: %d rows, clickhouse-go %d, want 50", size, len(got), len(want))
		}
		for i := range want {
			w, g := fmt.Sprintf("%+v", want[i]), fmt.Sprintf("%+v", got[i])
			if w != g {
				t.Errorf("buffer %d, row %d:\nchwire        %.300s\nclickhouse-go %.300s", size, i, g, w)
			}
		}
	}
}

// readAll reads q's rows with chwire, and counts the blocks.
func readAll(t *testing.T, ctx context.Context, o chwire.Options, q string) ([]row, int) {
	t.Helper()
	rd, err := chwire.Query(ctx, o, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var out []row
	var b chwire.Block
	blocks := 0
	for {
		ok, err := rd.Next(&b)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out, blocks
		}
		blocks++
		c := b.Columns
		for i := range b.Rows {
			r := row{ID: binary.LittleEndian.Uint32(c[0].Fixed(i)), S: string(c[1].Bytes(i)), SS: elems(&c[2], i), FS: string(c[3].Bytes(i)), FSS: elems(&c[4], i),
				U8: c[5].Fixed(i)[0], I64: int64(binary.LittleEndian.Uint64(c[6].Fixed(i))), U64: binary.LittleEndian.Uint64(c[7].Fixed(i)),
				At: time.Unix(int64(binary.LittleEndian.Uint32(c[8].Fixed(i))), 0).UTC(), Signed: int32(binary.LittleEndian.Uint32(c[9].Fixed(i)))}
			out = append(out, r)
		}
	}
}

func elems(c *chwire.Column, row int) []string {
	from, to := c.Elems(row)
	out := []string{}
	for k := from; k < to; k++ {
		out = append(out, string(c.Bytes(k)))
	}
	return out
}

// TestErrorsSayWhatFailed: an exception names its code and message, a type
// chwire does not read names the column and type, a wrong password fails
// at the start, and a cancelled context stops a read with its error.
func TestErrorsSayWhatFailed(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	var b chwire.Block
	next := func(o chwire.Options, q string) error {
		rd, err := chwire.Query(ctx, o, q)
		if err != nil {
			return err
		}
		defer rd.Close()
		for {
			ok, err := rd.Next(&b)
			if err != nil || !ok {
				return err
			}
		}
	}
	var ce *chwire.Error
	if err := next(s.opts, "SELECT * FROM no_such_table"); !errors.As(err, &ce) || ce.Code != 60 || !strings.Contains(ce.Message, "no_such_table") {
		t.Errorf("a missing table: %v, want code 60 naming it", err)
	}
	if err := next(s.opts, "SELECT toFloat64(1) AS ratio"); err == nil || !strings.Contains(err.Error(), "column ratio") || !strings.Contains(err.Error(), "Float64") {
		t.Errorf("a Float64 column: %v, want an error naming the column and type", err)
	}
	bad := s.opts
	bad.Password = "wrong"
	if err := next(bad, "SELECT 1"); !errors.As(err, &ce) || ce.Code != 193 {
		t.Errorf("a wrong password: %v, want code 193", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	rd, err := chwire.Query(cctx, s.opts, "SELECT number FROM system.numbers")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if ok, err := rd.Next(&b); !ok || err != nil {
		t.Fatalf("first block of an endless query: %v %v", ok, err)
	}
	cancel()
	for {
		ok, err := rd.Next(&b)
		if errors.Is(err, context.Canceled) {
			break
		}
		if !ok || err != nil {
			t.Fatalf("after cancel: %v %v, want context.Canceled", ok, err)
		}
	}
}

// TestSilentServerTimesOut: a server that accepts and never answers fails
// the query after ReadTimeout instead of hanging it.
func TestSilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, silent, until the test ends
		}
	}()
	_, err = chwire.Query(context.Background(), chwire.Options{Addrs: []string{ln.Addr().String()}, ReadTimeout: 100 * time.Millisecond}, "SELECT 1")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("a silent server: %v, want a timeout", err)
	}
}
