package schedule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// output is one file being written: a temporary file in the target's
// folder, hashed as it is written, renamed to its name only once complete
// and synced, so a reader never sees a partial file under the target name.
type output struct {
	format, path string
	f            *os.File
	h            hash.Hash
	n            int64
}

// createOutput opens a temporary file for path, in path's folder.
func createOutput(path, format string) (*output, error) {
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+base+".*.part")
	if err != nil {
		return nil, fmt.Errorf("create output in %s: %w", dir, err)
	}
	return &output{format: format, path: path, f: f, h: sha256.New()}, nil
}

func (o *output) Write(p []byte) (int, error) {
	n, err := o.f.Write(p)
	o.h.Write(p[:n])
	o.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", o.path, err)
	}
	return n, nil
}

// finish syncs and closes the temporary file.
func (o *output) finish() error {
	if err := o.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", o.f.Name(), err)
	}
	if err := o.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", o.f.Name(), err)
	}
	return nil
}

// commit gives the finished temporary file its name without ever
// replacing an existing file: it links the name to the temporary file
// (which fails if the name exists) and then removes the temporary name.
func (o *output) commit() error {
	if err := os.Link(o.f.Name(), o.path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("output %s exists already; not overwritten (another run wrote that name; give the schedule's filename a {run} token)", o.path)
		}
		return fmt.Errorf("link output to %s: %w", o.path, err)
	}
	if err := os.Remove(o.f.Name()); err != nil {
		return fmt.Errorf("remove temporary output %s: %w", o.f.Name(), err)
	}
	return nil
}

// uncommit removes the committed file of an attempt that failed after it.
func (o *output) uncommit() { _ = os.Remove(o.path) }

// discard removes the temporary file.
func (o *output) discard() {
	_ = o.f.Close()
	_ = os.Remove(o.f.Name())
}

// file describes the committed output.
func (o *output) file(eventID string) File {
	return File{Name: filepath.Base(o.path), Format: o.format, Path: o.path, Size: o.n,
		SHA256: hex.EncodeToString(o.h.Sum(nil)), EventID: eventID}
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

// fileName expands the schedule's file-name pattern for one file.
func (j *job) fileName(r Run, ext string) string {
	return strings.NewReplacer(
		"{schedule}", j.cfg.Name,
		"{report}", j.cfg.Report,
		"{from}", boundText(r.From, j.loc),
		"{to}", boundText(r.To, j.loc),
		"{fired}", r.FiredAt.In(j.loc).Format(firedLayout),
		"{run}", r.ID[:8],
		"{ext}", ext,
	).Replace(j.cfg.Filename)
}

// prune deletes the files of the schedule's successful runs beyond the
// newest Keep, except files a kept run still names (a pattern without
// period tokens reuses one name) and files outside the schedule's folder.
func (s *Scheduler) prune(ctx context.Context, j *job) {
	if j.cfg.Keep <= 0 {
		return
	}
	kept := map[string]bool{}
	seen, removed := 0, 0
	err := s.st.successFiles(ctx, j.cfg.Name, func(_ string, paths []string) {
		seen++
		for _, p := range paths {
			switch {
			case seen <= j.cfg.Keep:
				kept[p] = true
			case kept[p] || filepath.Dir(p) != j.dir:
			default:
				err := os.Remove(p)
				if err == nil {
					removed++
				} else if !errors.Is(err, fs.ErrNotExist) {
					s.log.Warn("schedule retention: cannot delete an old output", "schedule", j.cfg.Name, "path", p, "err", err)
				}
			}
		}
	})
	if err != nil {
		s.log.Error("schedule retention", "schedule", j.cfg.Name, "err", err)
		return
	}
	if removed > 0 {
		s.log.Info("schedule retention: old outputs deleted", "schedule", j.cfg.Name, "files", removed, "keep_runs", j.cfg.Keep)
	}
}

// backoff is the wait before retry number n (1-based).
func backoff(first time.Duration, n int) time.Duration {
	d := first
	for i := 1; i < n && d < MaxRetryBackoff; i++ {
		d *= 2
	}
	return min(d, MaxRetryBackoff)
}
