package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest"
	"github.com/privaudit/privaudit/audit/proof"
	"github.com/privaudit/privaudit/reports/schedule"
)

// defaultKeyName names a proof key created without --name: the origin line
// of its checkpoints.
const defaultKeyName = "privaudit"

// keyPath is the proof key file: proof.key_file, or proof.key under the data dir.
func (m *Main) keyPath() string {
	if m.Config.Proof.KeyFile != "" {
		return m.Config.Proof.KeyFile
	}
	return filepath.Join(m.Config.DataDir, "proof.key")
}

// key runs `privaudit key create|show`.
func (m *Main) key(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "show") {
		return usageError{helpTopics["key"]}
	}
	name := defaultKeyName
	if _, err := m.parse("key "+args[0], args[1:], func(fs *flag.FlagSet) {
		if args[0] == "create" {
			fs.StringVar(&name, "name", defaultKeyName, "the key's name: the origin line of its checkpoints")
		}
	}); err != nil {
		return err
	}
	if args[0] == "show" {
		k, err := audit.LoadProofKey(m.keyPath())
		if err != nil {
			return err
		}
		fmt.Fprintln(m.Stdout, k.Verifier)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(m.keyPath()), 0o700); err != nil {
		return fmt.Errorf("key create: %w", err)
	}
	vkey, err := audit.CreateProofKey(m.keyPath(), name)
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, vkey)
	return nil
}

// startCheckpoints runs the proof log's checkpointer until ctx ends. The
// default key file under the data dir is created at the first start; a
// configured key file must exist.
func (m *Main) startCheckpoints(ctx context.Context, s *server, reg prometheus.Registerer) error {
	pl := s.ingestor.ProofLog()
	if pl == nil {
		return nil
	}
	if _, err := os.Stat(m.keyPath()); errors.Is(err, os.ErrNotExist) && m.Config.Proof.KeyFile == "" {
		vkey, err := audit.CreateProofKey(m.keyPath(), defaultKeyName)
		if err != nil {
			return err
		}
		m.Log.Info("proof key created; keep its verifier key off this machine", "file", m.keyPath(), "verifier_key", vkey)
	}
	key, err := audit.LoadProofKey(m.keyPath())
	if err != nil {
		return err
	}
	o := ingest.CheckpointOptions{Log: pl, Key: key, Conn: s.st.Conn, Schema: m.Config.Schema(),
		Interval: m.Config.Proof.CheckpointInterval, ExportDir: m.Config.Proof.ExportDir, Registerer: reg, Logger: m.Log}
	if pc := m.Config.Proof; pc.ExportWebhook != "" || len(pc.ExportDeliveries) > 0 {
		exp, err := schedule.NewCheckpointExporter(ctx, schedule.CheckpointExportOptions{Webhook: pc.ExportWebhook,
			Deliveries: pc.ExportDeliveries, Schedules: m.Config.Schedules, Registerer: reg, Logger: m.Log})
		if err != nil {
			return err
		}
		o.Export = exp.Export
	}
	cp, err := ingest.NewCheckpointer(o)
	if err != nil {
		return err
	}
	s.checkpointer = cp
	go cp.Run(ctx)
	if m.Config.Proof.VerifyInterval > 0 {
		vo, err := m.verifyOptions(s.st, key.Verifier)
		if err != nil {
			return err
		}
		job := proof.NewJob(proof.JobOptions{Interval: m.Config.Proof.VerifyInterval, Registerer: reg, Verify: vo,
			Externals: func() ([]proof.External, error) { return m.externalCheckpoints(nil) }})
		go job.Run(ctx)
	}
	return nil
}
