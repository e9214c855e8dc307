package reportsbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/privaudit/privaudit/audit/chwire"
	"github.com/privaudit/privaudit/audit/proof"
)

// BaseRecords is verify's baseline: ClickHouse reading every stored record
// (both record tables, every column), raw.
const BaseRecords = "every stored record raw, FORMAT Null"

// VerifyLimit is issue 18's bound on verify: at most this many times the
// baseline.
const VerifyLimit = 3.0

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Proof configures each verify run; its Conn is replaced by the
	// measured connection.
	Proof  proof.Options
	Rounds int // default 3
	Log    io.Writer
}

// VerifyRound is one round: the baseline and a verify run.
type VerifyRound struct{ Raw, Verify Figure }

// VerifyResult is what Verify measured.
type VerifyResult struct {
	Records, Leaves uint64
	Rounds          []VerifyRound
	// Ratio is the median of the rounds' verify-to-baseline ratios.
	Ratio float64
	// Clean tells whether every verify run found the log clean, and
	// ByDigest whether each did so by the digest alone (the fast path; the
	// record-by-record pass would also find an honest log clean, slowly).
	Clean, ByDigest bool
	// PeakRSS is this process's peak resident memory at the end (it ran
	// every verify).
	PeakRSS int64
}

// Verify times `privaudit verify` over the whole log next to ClickHouse
// reading every stored record raw, Rounds times in alternating order.
func Verify(ctx context.Context, t Target, o VerifyOptions) (VerifyResult, error) {
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	conn, err := openMeasured(ctx, t)
	if err != nil {
		return VerifyResult{}, err
	}
	defer conn.Close()
	o.Proof.Conn = conn
	o.Proof.Scan = chwire.Options{Addrs: []string{t.Addr}, User: t.User, Password: t.Password,
		ClientName: clientMarker, Settings: map[string]uint64{"log_queries": 1}}
	b := &bench{t: t, m: &meter{t: t, seen: map[string]bool{}}, o: Options{Log: o.Log}}
	// The data directory may hold earlier runs' queries: they are not
	// ours. (The query logged here makes sure the query log exists.)
	if err := conn.Exec(ctx, "SELECT 1"); err != nil {
		return VerifyResult{}, err
	}
	if err := b.m.collect(ctx, &Figure{}, ""); err != nil {
		return VerifyResult{}, err
	}
	res := VerifyResult{Clean: true, ByDigest: true}
	for i := range o.Rounds {
		var r VerifyRound
		steps := []func() error{
			func() (err error) { r.Raw, err = b.allRecords(ctx); return err },
			func() (err error) {
				var v *proof.Result
				r.Verify, v, err = b.verify(ctx, o.Proof)
				if err == nil {
					res.Records, res.Leaves, res.Clean, res.ByDigest = v.Records, v.TreeSize, res.Clean && v.Clean(), res.ByDigest && v.Digest
				}
				return err
			},
		}
		for k := range steps {
			if err := steps[(i+k)%len(steps)](); err != nil {
				return res, err
			}
		}
		fmt.Fprintf(o.Log, "round %d/%d: verify %.3f s, raw read %.3f s: %.2f×\n", i+1, o.Rounds, r.Verify.Seconds, r.Raw.Seconds, r.Verify.Seconds/r.Raw.Seconds)
		res.Rounds = append(res.Rounds, r)
	}
	ratios := make([]float64, len(res.Rounds))
	for i, r := range res.Rounds {
		ratios[i] = r.Verify.Seconds / max(r.Raw.Seconds, 1e-6)
	}
	slices.Sort(ratios)
	res.Ratio = ratios[len(ratios)/2]
	res.PeakRSS = peakRSS()
	return res, nil
}

// allRecords is the baseline: both record tables read raw, every column.
func (b *bench) allRecords(ctx context.Context) (Figure, error) {
	f := Figure{Name: BaseRecords}
	for _, table := range []string{"access_events", "consent_events"} {
		b.seq++
		id := fmt.Sprintf("reportsbench-%d-%d", time.Now().UnixNano(), b.seq)
		d, _, err := httpQuery(ctx, b.t, id, "SELECT * FROM "+b.t.Schema.DB+"."+table+" FORMAT Null")
		if err != nil {
			return f, fmt.Errorf("baseline %s: %w", BaseRecords, err)
		}
		f.Seconds += d.Seconds()
		part := Figure{}
		if err := b.m.collect(ctx, &part, id); err != nil {
			return f, err
		}
		f.ServerSeconds += part.ServerSeconds
		f.ReadRows += part.ReadRows
		f.PeakBytes = max(f.PeakBytes, part.PeakBytes)
		f.Queries++
	}
	return f, nil
}

// verify runs proof.Verify once on the measured connection.
func (b *bench) verify(ctx context.Context, o proof.Options) (Figure, *proof.Result, error) {
	f := Figure{Name: "privaudit verify"}
	start := time.Now()
	res, err := proof.Verify(ctx, o)
	if err != nil {
		return f, nil, fmt.Errorf("verify: %w", err)
	}
	f.Seconds = time.Since(start).Seconds()
	f.Rows = int64(res.Total())
	return f, res, b.m.collect(ctx, &f, "")
}

// PrintVerify writes the verify benchmark's figures.
func PrintVerify(w io.Writer, r VerifyResult) {
	fmt.Fprintf(w, "verify benchmark: %d stored records, %d leaves; log clean in every run: %v, by the digest alone: %v\n", r.Records, r.Leaves, r.Clean, r.ByDigest)
	for i, rd := range r.Rounds {
		fmt.Fprintf(w, "round %d:\n  %-40s %s\n  %-40s %s\n", i+1, rd.Raw.Name, figureText(rd.Raw), rd.Verify.Name, figureText(rd.Verify))
	}
	fmt.Fprintf(w, "verify: median %s; privaudit process peak RSS %.1f MiB\n", ratioTarget("to "+BaseRecords, r.Ratio, 1, VerifyLimit), mib(r.PeakRSS))
}

// peakRSS is this process's peak resident memory (VmHWM), or 0.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
