package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/client"
)

func (m *Main) ingest(ctx context.Context, args []string) error {
	const use = "usage: privaudit ingest events|consents FILE… (- for stdin)"
	if len(args) == 0 {
		return usageError{use}
	}
	kind := audit.Kind(args[0])
	if kind != audit.KindEvents && kind != audit.KindConsents {
		return usageError{fmt.Sprintf("unknown kind %q; %s", args[0], use)}
	}
	var parallel int
	fs, err := m.parse("ingest", args[1:], func(fs *flag.FlagSet) {
		fs.IntVar(&parallel, "parallel", 4, "concurrent requests (events only; consents keep file order)")
	})
	if err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		return usageError{use}
	}
	if m.Config.Token == "" {
		return errors.New("no token: set PRIVAUDIT_TOKEN or --token (create one with `privaudit token create --role ingest`)")
	}
	sum, err := m.send(ctx, kind, files, parallel)
	for _, p := range sum.Problems {
		fmt.Fprintln(m.Stderr, p)
	}
	fmt.Fprintf(m.Stderr, "%s: %d records read, %d accepted, %d duplicates, %d rejected, %d retries\n",
		kind, sum.Records, sum.Accepted, sum.Duplicates, sum.Rejected, sum.Retries)
	return err
}

// send streams files through one Sender, printing progress on stderr.
func (m *Main) send(ctx context.Context, kind audit.Kind, files []string, parallel int) (client.Summary, error) {
	var mu sync.Mutex
	last := time.Now()
	start := time.Now()
	s := client.New(client.Options{Server: m.Config.Server, Token: m.Config.Token, Parallel: parallel, Logger: m.Log,
		Progress: func(sum client.Summary) {
			mu.Lock()
			defer mu.Unlock()
			if time.Since(last) < time.Second {
				return
			}
			last = time.Now()
			rate := float64(sum.Records) / time.Since(start).Seconds()
			fmt.Fprintf(m.Stderr, "%s: %d records sent (%.0f/s), %d rejected\n", kind, sum.Records, rate, sum.Rejected)
		}})
	var errs []error
	for _, f := range files {
		if err := m.sendFile(ctx, s, kind, f); err != nil {
			errs = append(errs, err)
			if !errors.Is(err, client.ErrRejected) {
				break
			}
		}
	}
	return s.Summary(), errors.Join(errs...)
}

func (m *Main) sendFile(ctx context.Context, s *client.Sender, kind audit.Kind, name string) error {
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	} else {
		name = "stdin"
	}
	return s.Send(ctx, kind, name, r)
}
