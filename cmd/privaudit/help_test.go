package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSubcommandHelp: every command and subcommand answers --help (and
// `privaudit help CMD …`) on standard output with its own usage, and its
// flags where it has any, and succeeds without doing anything else.
func TestSubcommandHelp(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"serve", "--help"}, []string{"privaudit serve", "-listen"}},
		{[]string{"token", "--help"}, []string{"privaudit token create"}},
		{[]string{"token", "create", "-h"}, []string{"privaudit token create", "-role", "-name"}},
		{[]string{"ingest", "--help"}, []string{"privaudit ingest events|consents"}},
		{[]string{"ingest", "events", "--help"}, []string{"privaudit ingest", "-parallel"}},
		{[]string{"report", "--help"}, []string{"privaudit report run NAME"}},
		{[]string{"report", "list", "--help"}, []string{"privaudit report list", "Flags:"}},
		{[]string{"report", "run", "--help"}, []string{"privaudit report run", "-from", "-allow-empty"}},
		{[]string{"help", "report", "run"}, []string{"privaudit report run", "-param"}},
		{[]string{"schedule", "help"}, []string{"privaudit schedule run NAME"}},
		{[]string{"schedule", "run", "--help"}, []string{"privaudit schedule run", "-no-wait"}},
		{[]string{"runs", "--help"}, []string{"privaudit runs", "-limit"}},
		{[]string{"runs", "get", "--help"}, []string{"privaudit runs get", "-out"}},
		{[]string{"query", "--help"}, []string{"privaudit query --saved", "-format"}},
		{[]string{"generate", "--help"}, []string{"privaudit generate", "-out"}},
		{[]string{"demo", "--help"}, []string{"privaudit demo", "-customers"}},
		{[]string{"bench", "--help"}, []string{"privaudit bench", "-rounds"}},
		{[]string{"bench", "reports", "--help"}, []string{"privaudit bench reports", "-late-consents"}},
		{[]string{"verify", "--help"}, []string{"privaudit verify verdicts"}},
		{[]string{"verify", "verdicts", "--help"}, []string{"privaudit verify verdicts", "-max-listed"}},
		{[]string{"version", "--help"}, []string{"privaudit version"}},
		{[]string{"prove", "--help"}, []string{"privaudit prove EVENT_ID", "-checkpoint-size", "-out"}},
		{[]string{"help", "verify-proof"}, []string{"privaudit verify-proof FILE --key PUB", "-key"}},
		{[]string{"key", "--help"}, []string{"privaudit key create", "privaudit key show"}},
		{[]string{"key", "create", "--help"}, []string{"privaudit key create", "-name"}},
		{[]string{"token", "revoke", "--help"}, []string{"privaudit token revoke", "-id"}},
		{[]string{"hold", "--help"}, []string{"privaudit hold set"}},
		{[]string{"hold", "set", "--help"}, []string{"privaudit hold", "-reason"}},
		{[]string{"retention", "--help"}, []string{"privaudit retention drops"}},
		{[]string{"retention", "drops", "--help"}, []string{"privaudit retention drops", "-verifier-key"}},
		{[]string{"hold", "--help"}, []string{"privaudit hold set"}},
		{[]string{"hold", "set", "--help"}, []string{"privaudit hold set", "-subject", "-reason"}},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), c.args, &stdout, &stderr)
		if err != nil {
			t.Errorf("%v: err %v, want success", c.args, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("%v: stdout lacks %q:\n%s", c.args, w, stdout.String())
			}
		}
		if strings.Contains(stdout.String(), "Client (talk to a running server") {
			t.Errorf("%v: printed the general usage, want the command's own", c.args)
		}
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"report", "run", "--bogus"}, &stdout, &stderr)
	if !strings.Contains(fmt.Sprint(err), "privaudit report run --help") {
		t.Errorf("unknown flag: err %v, want it to point at the command's --help", err)
	}
}

// openPTY returns the terminal end of a new pseudo-terminal; whatever is
// written to it is drained, so a write never blocks the test.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	pts, ptm := openPTYPair(t)
	go io.Copy(io.Discard, ptm)
	return pts
}

// openPTYPair returns the terminal end of a new pseudo-terminal and its
// controlling end, which reads what is written to the terminal.
func openPTYPair(t *testing.T) (pts, ptm *os.File) {
	t.Helper()
	var err error
	ptm, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v (the test needs a pseudo-terminal)", err)
	}
	t.Cleanup(func() { ptm.Close() })
	if err := unix.IoctlSetPointerInt(int(ptm.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ptm.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	pts, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { pts.Close() })
	return pts, ptm
}

// TestRefusesBinaryToTerminal: an xlsx report, query result or run file
// bound for standard output is refused when that is a terminal, before the
// server is asked; a text format, a file or a pipe (and /dev/null, which
// is a character device but no terminal) pass the rail.
func TestRefusesBinaryToTerminal(t *testing.T) {
	conn := []string{"--server", "127.0.0.1:1", "--token", "pa_x"}
	cmds := map[string][]string{
		"report":    {"report", "run", "violations", "--from", "2026-10-01", "--to", "2026-11-01", "--out", "-"},
		"query":     {"query", "SELECT 1", "--format", "xlsx"},
		"run file":  {"runs", "get", "run-1", "violations.xlsx", "--out", "-"},
		"report -f": {"report", "run", "violations", "--from", "2026-10-01", "--to", "2026-11-01", "--format", "xlsx", "--out", "-"},
	}
	tty := openPTY(t)
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	for name, args := range cmds {
		var stderr bytes.Buffer
		err := run(context.Background(), append(args, conn...), tty, &stderr)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "standard output is a terminal") ||
			!strings.Contains(err.Error(), "--out FILE") {
			t.Errorf("%s to a terminal: err %v, want a refusal saying what to do", name, err)
		}
		for _, w := range []io.Writer{devNull, &bytes.Buffer{}} {
			err := run(context.Background(), append(args, conn...), w, &stderr)
			if err == nil || strings.Contains(err.Error(), "terminal") || !strings.Contains(err.Error(), "127.0.0.1:1") {
				t.Errorf("%s to %T: err %v, want the server asked (and unreachable)", name, w, err)
			}
		}
	}
	var stderr bytes.Buffer
	err = run(context.Background(), append([]string{"report", "run", "violations", "--from", "2026-10-01", "--to", "2026-11-01",
		"--format", "csv", "--out", "-"}, conn...), tty, &stderr)
	if err == nil || strings.Contains(err.Error(), "terminal") {
		t.Errorf("csv to a terminal: err %v, want it allowed (the unreachable server fails it)", err)
	}
}

// TestUnknownCommandSuggestsNearest: a mistyped command names the nearest
// one.
func TestUnknownCommandSuggestsNearest(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"reprot", "list"}, &stdout, &stderr)
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `unknown command "reprot" (did you mean report?)`) {
		t.Errorf("err %v, want the nearest command suggested", err)
	}
}
