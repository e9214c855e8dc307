package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	verifier "github.com/privaudit/privaudit/reports/verify"
)

// VerifyVerdicts is the value of a schedule's `verify:` that runs
// `privaudit verify verdicts` over the schedule's period instead of a
// report.
const VerifyVerdicts = "verdicts"

// VerifyFunc checks the verdict store over [from, to) for the schedule
// named schedule; (*verify.Job).Run is the real one, which also publishes
// the result on /metrics.
type VerifyFunc func(ctx context.Context, schedule string, from, to time.Time) (verifier.Result, error)

// isVerify reports whether the schedule runs a check rather than a report.
func (c Config) isVerify() bool { return c.Verify != "" }

// runName is what the run history records as the report of c's runs.
func (c Config) runName() string {
	if c.isVerify() {
		return "verify:" + c.Verify
	}
	return c.Report
}

// checkVerify checks a `verify:` schedule: it names a known check and none
// of a report's settings, since it renders no file.
func (c Config) checkVerify() error {
	if c.Verify != VerifyVerdicts {
		return fmt.Errorf("verify %q: the only check is %q", c.Verify, VerifyVerdicts)
	}
	var set []string
	for _, f := range []struct {
		name string
		on   bool
	}{{"report", c.Report != ""}, {"params", len(c.Params) > 0}, {"filters", len(c.Filters) > 0},
		{"formats", len(c.Formats) > 0},
		{"output_dir", c.OutputDir != ""}, {"filename", c.Filename != ""}, {"keep", c.Keep != 0}} {
		if f.on {
			set = append(set, f.name)
		}
	}
	if len(set) > 0 {
		return fmt.Errorf("verify: %s writes no file; remove %v (a schedule has either report: or verify:)", c.Verify, set)
	}
	return nil
}

// runVerify runs the check of a `verify:` schedule for r's period; the run
// fails when some stored verdict differs. Its rows are the events checked.
func (s *Scheduler) runVerify(ctx context.Context, j *job, r *Run) error {
	if s.o.Verify == nil {
		return errors.New("verify verdicts: this scheduler has no verifier")
	}
	res, err := s.o.Verify(ctx, j.cfg.Name, r.From, r.To)
	r.Rows = res.Checked
	if err != nil {
		return err
	}
	if !res.Clean() {
		return fmt.Errorf("verify verdicts: %d of %d events differ from their recomputed verdict, %d have no stored verdict, %d stored verdicts have no access event; `privaudit verify verdicts --from %s --to %s` names them",
			res.Differing, res.Checked, res.Missing, res.Orphaned, r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
	}
	return nil
}
