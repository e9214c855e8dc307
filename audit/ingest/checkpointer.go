package ingest

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/queries"
)

// CheckpointOptions configure a Checkpointer.
type CheckpointOptions struct {
	Log    *ProofLog
	Key    *audit.ProofKey
	Conn   driver.Conn
	Schema queries.Schema
	// Interval is how often Run signs a checkpoint while the log grows
	// (default 1m).
	Interval time.Duration
	// ExportDir, when set, receives each checkpoint as a file
	// checkpoint-SIZE.txt as it is made.
	ExportDir string
	// Export, when set, is called with each checkpoint (its tree size and
	// signed note) after it is stored and written to ExportDir, to send it
	// off the machine. It must return at once: serve's queues the note
	// and sends it in the background, with retries.
	Export     func(ctx context.Context, size uint64, note []byte)
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Checkpointer signs, stores and exports checkpoints of the proof log.
type Checkpointer struct {
	o         CheckpointOptions
	insertSQL string
	mu        sync.Mutex
	last      uint64 // the size of the last checkpoint made
	lastTime  prometheus.Gauge
}

// NewCheckpointer prepares a Checkpointer; Run starts it.
func NewCheckpointer(o CheckpointOptions) (*Checkpointer, error) {
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	c := &Checkpointer{o: o, lastTime: prometheus.NewGauge(prometheus.GaugeOpts{Name: "privaudit_checkpoint_last_unixtime",
		Help: "When the last proof log checkpoint was signed (Unix seconds)."})}
	c.o.Logger = logger(o.Logger)
	if o.Registerer != nil {
		o.Registerer.MustRegister(c.lastTime)
	}
	var err error
	if c.insertSQL, err = queries.Ingest("log_insert_checkpoint", o.Schema); err != nil {
		return nil, err
	}
	if o.ExportDir != "" {
		if err := os.MkdirAll(o.ExportDir, 0o755); err != nil {
			return nil, fmt.Errorf("checkpoint export dir: %w", err)
		}
	}
	return c, nil
}

// Run signs a checkpoint every Interval in which the log grew, until ctx ends.
func (c *Checkpointer) Run(ctx context.Context) {
	t := time.NewTicker(c.o.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := c.Checkpoint(ctx); err != nil && ctx.Err() == nil {
			c.o.Logger.Warn("checkpoint failed; retried at the next interval", "err", err)
		}
	}
}

// Checkpoint signs the log's current state unless it was already signed,
// stores the signed note and exports it; it returns the note, or nil when
// there was nothing new to sign.
func (c *Checkpointer) Checkpoint(ctx context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	size, root, err := c.o.Log.State()
	if err != nil || size == 0 || size == c.last {
		return nil, err
	}
	signed, err := c.o.Key.SignCheckpoint(size, root)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	now := time.Now()
	if err := c.o.Conn.Exec(ctx, c.insertSQL+" SELECT ?, ?, ?, ?", size, hex.EncodeToString(root), string(signed), now); err != nil {
		return nil, fmt.Errorf("store checkpoint %d: %w", size, err)
	}
	if c.o.ExportDir != "" {
		if err := writeAtomic(filepath.Join(c.o.ExportDir, "checkpoint-"+strconv.FormatUint(size, 10)+".txt"), signed); err != nil {
			return nil, fmt.Errorf("export checkpoint %d: %w", size, err)
		}
	}
	c.last = size
	c.lastTime.Set(float64(now.Unix()))
	if c.o.Export != nil {
		c.o.Export(ctx, size, signed)
	}
	return signed, nil
}

// writeAtomic writes b to path through a synced temporary file and a rename.
func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".checkpoint-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
