// Package chwire reads the result of one SELECT over ClickHouse's native
// TCP protocol, block by block, into column buffers the caller reuses: it
// allocates nothing per value. privaudit verify reads every stored record
// with it to recompute their leaves in Go; clickhouse-go, privaudit's
// client everywhere else, allocates for every string it scans, and
// ClickHouse 18.16's SQL spends most of a verify building the encodings.
//
// It speaks protocol revision 54406 (which ClickHouse 18.16 and current
// releases both accept), uncompressed, and only what a SELECT needs: no
// query parameters, and settings of integer type only. It reads the column
// types of the record tables and the proof log's runs (see Kind); a query
// returning any other type fails, naming the column.
package chwire

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"time"
)

// revision is the protocol revision announced: the server's packets follow
// it (a timezone, display name and patch in its hello, three fields of
// progress, no settings-as-strings, no compression).
const revision = 54406

// Client and server packet codes.
const (
	clientHello, clientQuery, clientData                                             = 0, 1, 2
	serverHello, serverData, serverException, serverProgress, serverPong             = 0, 1, 2, 3, 4
	serverEnd, serverProfile, serverTotals, serverExtremes, serverLog, serverColumns = 5, 6, 7, 8, 10, 11
)

// stageComplete asks for the query's final result.
const stageComplete = 2

// Options say where and as whom to connect.
type Options struct {
	// Addrs are tried in order; the first that answers is used.
	Addrs    []string
	User     string
	Password string
	Database string
	TLS      *tls.Config
	// DialTimeout defaults to 5s.
	DialTimeout time.Duration
	// ReadTimeout bounds each wait for the server (default 5 minutes): a
	// server that stops sending fails the read instead of hanging it.
	ReadTimeout time.Duration
	// ClientName is the client_name the server logs; default "privaudit".
	ClientName string
	// Settings are query settings of integer or boolean type (log_queries,
	// max_threads, …), sent with the query.
	Settings map[string]uint64
}

// Error is an exception ClickHouse returned.
type Error struct {
	Code    int32
	Name    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("clickhouse: code %d: %s", e.Code, e.Message) }

// Reader is one running query. It is not safe for concurrent use.
type Reader struct {
	conn net.Conn
	in   *input
	ctx  context.Context
	stop func() bool
	done bool
	err  error
	skip Block // Totals, Extremes and Log blocks are read into it and dropped
}

// defaultReadTimeout is ReadTimeout's default.
const defaultReadTimeout = 5 * time.Minute

// Query sends query and returns a Reader of its result blocks. Close it.
func Query(ctx context.Context, o Options, query string) (*Reader, error) {
	o.ReadTimeout = cmp.Or(o.ReadTimeout, defaultReadTimeout)
	conn, err := dial(ctx, o)
	if err != nil {
		return nil, err
	}
	rd := &Reader{conn: conn, in: newInput(timedConn{conn, o.ReadTimeout}), ctx: ctx}
	rd.stop = context.AfterFunc(ctx, func() { _ = conn.Close() })
	if err := rd.start(o, query); err != nil {
		rd.Close()
		return nil, rd.wrap(err)
	}
	return rd, nil
}

// timedConn reads from a connection with a deadline of timeout for each
// read.
type timedConn struct {
	net.Conn
	timeout time.Duration
}

func (c timedConn) Read(b []byte) (int, error) {
	if err := c.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func dial(ctx context.Context, o Options) (net.Conn, error) {
	if len(o.Addrs) == 0 {
		return nil, errors.New("chwire: no address configured")
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	var errs []error
	for _, addr := range o.Addrs {
		d := &net.Dialer{Timeout: o.DialTimeout}
		var conn net.Conn
		var err error
		if o.TLS != nil {
			conn, err = (&tls.Dialer{NetDialer: d, Config: o.TLS}).DialContext(ctx, "tcp", addr)
		} else {
			conn, err = d.DialContext(ctx, "tcp", addr)
		}
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("chwire: connect to %v: %w", o.Addrs, errors.Join(errs...))
}

// start says hello, reads the server's, and sends the query and the empty
// data block that ends its (absent) external tables.
func (rd *Reader) start(o Options, query string) error {
	if err := rd.conn.SetWriteDeadline(time.Now().Add(o.ReadTimeout)); err != nil {
		return err
	}
	var w writer
	name := cmp.Or(o.ClientName, "privaudit")
	w.uvarint(clientHello)
	w.str(name)
	w.uvarint(1)
	w.uvarint(0)
	w.uvarint(revision)
	w.str(o.Database)
	w.str(o.User)
	w.str(o.Password)
	if _, err := rd.conn.Write(w.b); err != nil {
		return err
	}
	if err := rd.hello(); err != nil {
		return err
	}
	host, _ := os.Hostname()
	w.b = w.b[:0]
	w.uvarint(clientQuery)
	w.str("")            // query id: the server makes one
	w.b = append(w.b, 1) // client info: an initial query
	w.str(o.User)        // initial user
	w.str("")            // initial query id
	w.str("0.0.0.0:0")   // initial address
	w.b = append(w.b, 1) // interface: TCP
	w.str("")            // OS user
	w.str(host)          // client host
	w.str(name)          // client name
	w.uvarint(1)         // major
	w.uvarint(0)         // minor
	w.uvarint(revision)  // revision
	w.str("")            // quota key
	w.uvarint(0)         // version patch
	for _, k := range slices.Sorted(maps.Keys(o.Settings)) {
		w.str(k) // before revision 54429 a setting's value is in its type's binary form
		w.uvarint(o.Settings[k])
	}
	w.str("") // end of settings
	w.uvarint(stageComplete)
	w.uvarint(0) // no compression
	w.str(query)
	w.emptyBlock()
	_, err := rd.conn.Write(w.b)
	return err
}

func (rd *Reader) hello() error {
	code, err := rd.uvarint()
	if err != nil {
		return err
	}
	switch code {
	case serverException:
		return rd.exception()
	case serverHello:
	default:
		return fmt.Errorf("chwire: unexpected packet %d before the server's hello", code)
	}
	if err := rd.skipStr(); err != nil { // name
		return err
	}
	if err := rd.uvarints(3); err != nil { // major, minor, revision
		return err
	}
	for range 2 { // timezone, display name
		if err := rd.skipStr(); err != nil {
			return err
		}
	}
	return rd.uvarints(1) // patch
}

// Next reads the next block of rows into b, reusing its buffers; it returns
// false at the end of the result. Blocks without rows are skipped.
func (rd *Reader) Next(b *Block) (bool, error) {
	for !rd.done && rd.err == nil {
		rd.err = rd.packet(b)
		if rd.err == nil && b.Rows > 0 {
			return true, nil
		}
	}
	return false, rd.wrap(rd.err)
}

// packet reads one packet; a data packet fills b, any other leaves b
// without rows.
func (rd *Reader) packet(b *Block) error {
	b.Rows = 0
	code, err := rd.uvarint()
	if err != nil {
		return err
	}
	switch code {
	case serverData:
		return rd.block(b)
	case serverException:
		return rd.exception()
	case serverProgress: // rows, bytes, total rows
		return rd.uvarints(3)
	case serverProfile: // rows, blocks, bytes, applied limit, rows before limit, calculated
		if err := rd.uvarints(3); err != nil {
			return err
		}
		if _, err := rd.in.readByte(); err != nil {
			return err
		}
		if err := rd.uvarints(1); err != nil {
			return err
		}
		_, err := rd.in.readByte()
		return err
	case serverTotals, serverExtremes, serverLog:
		return rd.block(&rd.skip)
	case serverColumns:
		if err := rd.skipStr(); err != nil {
			return err
		}
		return rd.skipStr()
	case serverEnd:
		rd.done = true
		return nil
	default:
		return fmt.Errorf("chwire: unexpected packet %d", code)
	}
}

func (rd *Reader) exception() error {
	var e Error
	var code [4]byte
	if _, err := rd.full(code[:]); err != nil {
		return err
	}
	e.Code = int32(binary.LittleEndian.Uint32(code[:]))
	var err error
	if e.Name, err = rd.str(); err != nil {
		return err
	}
	if e.Message, err = rd.str(); err != nil {
		return err
	}
	return &e // the stack trace and nested exceptions are not read: the connection ends here
}

// wrap says what stopped the query: the context, or err.
func (rd *Reader) wrap(err error) error {
	if err == nil {
		return nil
	}
	if cerr := rd.ctx.Err(); cerr != nil {
		return cerr
	}
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("chwire: read the result: %w", err)
}

// Close ends the query and the connection; a query not read to its end is
// cancelled by the server when the connection closes.
func (rd *Reader) Close() error {
	if !rd.stop() { // the context closed the connection already
		return nil
	}
	return rd.conn.Close()
}
