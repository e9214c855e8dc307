package schedule

import (
	"context"
	"maps"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// TestScheduleFilters: a schedule's filters: map is read from YAML,
// checked at load like a manual run's (a bad one is refused naming the
// schedule), refused on a verify: schedule, and handed to every run.
func TestScheduleFilters(t *testing.T) {
	var c Config
	if err := yaml.Unmarshal([]byte("name: ad\ncron: \"0 2 * * *\"\nreport: disclosures\nperiod: previous_day\n"+
		"filters: {recipient: adnet, verdict: no_consent}\n"), &c); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"recipient": "adnet", "verdict": "no_consent"}
	if !maps.Equal(c.Filters, want) {
		t.Fatalf("filters read from YAML: %v", c.Filters)
	}
	env := ingesttest.Start(t, ingesttest.Options{})
	r := newRunner(t, env, nil)
	bad := cfg("bad-filter")
	bad.Filters = map[string]string{"verdict": "nope"}
	if err := Validate([]Config{bad}, r); err == nil || !strings.Contains(err.Error(), `schedule bad-filter: filter verdict: "nope" is not one of`) {
		t.Errorf("a bad filter: %v", err)
	}
	verify := Config{Name: "v", Cron: "0 2 * * *", Verify: VerifyVerdicts, Period: PreviousDay, Filters: want}
	if err := Validate([]Config{verify}, r); err == nil || !strings.Contains(err.Error(), "filters") {
		t.Errorf("filters on a verify schedule: %v", err)
	}
	fr := &fakeRun{}
	c.Formats = []string{"csv"}
	f := newFixture(t, env, []Config{c}, fr.run, nil)
	if _, err := f.s.RunNow(context.Background(), "ad"); err != nil {
		t.Fatal(err)
	}
	reqs := fr.requests()
	if len(reqs) != 1 || !maps.Equal(reqs[0].Filters, want) {
		t.Errorf("run requests %+v, want the schedule's filters", reqs)
	}
}
