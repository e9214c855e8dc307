package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/privaudit/privaudit/audit/synth"
)

func (m *Main) generate(ctx context.Context, args []string) error {
	var out string
	o := synth.Options{}
	var customers, events int
	var seed uint64
	if _, err := m.parse("generate", args, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", "privaudit-sample", "output directory (events.ndjson, consents.ndjson)")
		fs.IntVar(&customers, "customers", 20000, "number of customers")
		fs.IntVar(&events, "events", 200000, "number of access events")
		fs.Uint64Var(&seed, "seed", 1, "random seed (same seed, same data)")
	}); err != nil {
		return err
	}
	o.Customers, o.Events, o.Seed, o.Now = customers, events, seed, time.Now().UTC()
	stats, err := generateFiles(ctx, out, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "wrote %d events and %d consent events to %s (%d disclosures, %d violations by construction)\n",
		stats.Events, stats.Consents, out, stats.Disclosures, stats.ExpectedViolations)
	return nil
}

// generateFiles writes dir/events.ndjson and dir/consents.ndjson.
func generateFiles(ctx context.Context, dir string, o synth.Options) (synth.Stats, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return synth.Stats{}, err
	}
	ef, err := os.Create(filepath.Join(dir, "events.ndjson"))
	if err != nil {
		return synth.Stats{}, err
	}
	defer ef.Close()
	cf, err := os.Create(filepath.Join(dir, "consents.ndjson"))
	if err != nil {
		return synth.Stats{}, err
	}
	defer cf.Close()
	ew, cw := bufio.NewWriterSize(ef, 1<<20), bufio.NewWriterSize(cf, 1<<20)
	stats, err := synth.Generate(ctx, o, ew, cw)
	if err != nil {
		return stats, fmt.Errorf("generate: %w", err)
	}
	if err := ew.Flush(); err != nil {
		return stats, err
	}
	if err := cw.Flush(); err != nil {
		return stats, err
	}
	if err := ef.Close(); err != nil {
		return stats, err
	}
	return stats, cf.Close()
}
