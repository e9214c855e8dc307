// Command privaudit records every data-access event and consent change into
// ClickHouse and answers what was shared, with whom, and under which consent.
//
// Usage: privaudit COMMAND [flags]; run `privaudit help` for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/privaudit/privaudit/queries"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `privaudit — privacy audit and compliance reporting

Usage: privaudit COMMAND [flags]

Server:
  serve                        run the HTTP API, writers and scheduler
  token create --role ROLE --name NAME
                               create an API token (prints it as the last line)
  token revoke --id ID         revoke a token (the API and console sessions refuse it)
  key create | key show        the proof log's signing key; show prints the verifier key
  retention drops [--verifier-key K]
                               partitions the retention job dropped, each signed or UNSIGNED
Client (talk to a running server: PRIVAUDIT_SERVER, PRIVAUDIT_TOKEN):
  ingest events|consents FILE… send NDJSON files (- for stdin)
  report list                  the report catalog with parameters
  report run NAME --from D --to D [--param k=v]… [--format xlsx|csv|json|html] [--out FILE] [--audience customer]
                               download a report
  schedule list | schedule run NAME [--no-wait]
                               configured schedules, next fire times; run one now
  runs [--schedule N] [--limit N] | runs show ID | runs get ID FILE [--out PATH]
                               history of scheduled runs and their files
  query "SQL" | --saved NAME [--param k=v]… | --list
                               read-only SQL (table, csv, json or xlsx)
  hold set (--subject ID | --from T --to T) --reason R | hold lift --id ID --reason R | hold list
                               legal holds the retention job honours (admin token)
Data:
  generate --out DIR           write a synthetic data set (events.ndjson, consents.ndjson)
  demo                         the whole story end to end on the embedded default
  bench [reports | verify]     measure ingest (sealing on and off) against a direct INSERT;
                               reports, or verify over the loaded data, against raw reads
  verify [--checkpoint FILE|DIR]… [--key PUB] [--from D --to D]
                               check the proof log: every record against its leaf, the tree
                               against every checkpoint (exit 3 when something was changed)
  verify verdicts --from D --to D
                               recompute every event's verdict and compare it with the
                               verdict store (exit 3 when some differ)
  prove EVENT_ID [--out FILE]  write a self-contained inclusion proof of one stored record
  verify-proof FILE --key PUB  check a proof offline with the verifier key (no server)
  seal-stored                  seal stored records that have no leaf (after switching sealing
                               on over existing records; an attestation: run verify first)
Other:
  version                      print the version

Run ` + "`privaudit COMMAND --help`" + ` (or ` + "`privaudit help COMMAND`" + `) for a command's own usage and flags.

Configuration: a YAML file (--config or PRIVAUDIT_CONFIG), PRIVAUDIT_* environment
variables and flags; see README.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, "privaudit:", err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "privaudit:", err)
		var ec interface{ ExitCode() int }
		if errors.As(err, &ec) {
			os.Exit(ec.ExitCode())
		}
		os.Exit(1)
	}
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// Main holds what one invocation of privaudit needs: its configuration,
// logger and output streams.
type Main struct {
	Config Config
	Log    *slog.Logger
	Stdout io.Writer
	Stderr io.Writer
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || len(args) == 1 && isHelpArg(args[0]) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if args[0] == "help" {
		args = append(slices.Clone(args[1:]), "--help")
	}
	cmd, rest := args[0], args[1:]
	if groupHelp(stdout, cmd, rest) {
		return nil
	}
	m := &Main{Stdout: stdout, Stderr: stderr}
	commands := map[string]func(context.Context, []string) error{
		"serve":    m.serve,
		"token":    m.token,
		"key":      m.key,
		"ingest":   m.ingest,
		"query":    m.query,
		"report":   m.report,
		"schedule": m.schedule,
		"runs":     m.runs,
		"generate": m.generate,
		"demo":     m.demo,
		"bench":    m.bench,
		"verify":   m.verify,
		"prove":    m.prove,
		"hold":     m.hold,
		"version":  func(context.Context, []string) error { fmt.Fprintln(stdout, "privaudit", version); return nil },

		"retention": m.retentionCmd,
	}
	commands["verify-proof"] = m.verifyProof
	commands["seal-stored"] = m.sealStored
	f, ok := commands[cmd]
	if !ok {
		return usageError{fmt.Sprintf("unknown command %q%s; run `privaudit help`", cmd, queries.DidYouMean(cmd, slices.Sorted(maps.Keys(commands))))}
	}
	if err := f(ctx, rest); !errors.Is(err, errHelpShown) {
		return err
	}
	return nil
}

// parse loads the configuration and parses the command's flags; extra
// registers the command's own flags.
func (m *Main) parse(name string, args []string, extra func(fs *flag.FlagSet)) (*flag.FlagSet, error) {
	configPath := ""
	for i, a := range args {
		if a == "--config" || a == "-config" {
			if i+1 < len(args) {
				configPath = args[i+1]
			}
		} else if v, ok := cutAny(a, "--config=", "-config="); ok {
			configPath = v
		}
	}
	cfg, err := LoadConfig(configPath, os.Getenv)
	if err != nil {
		return nil, err
	}
	m.Config = cfg
	fs := flag.NewFlagSet("privaudit "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {}
	fs.String("config", configPath, "YAML configuration file [PRIVAUDIT_CONFIG]")
	m.Config.Flags(fs)
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(m.Stdout, name, fs)
			return nil, errHelpShown
		}
		return nil, usageError{fmt.Sprintf("%v; run `privaudit %s --help` for its flags", err, name)}
	}
	if err := m.Config.Validate(); err != nil {
		return nil, err
	}
	m.Log = newLogger(m.Stderr, m.Config.LogLevel)
	slog.SetDefault(m.Log)
	return fs, nil
}

func cutAny(s string, prefixes ...string) (string, bool) {
	for _, p := range prefixes {
		if len(s) > len(p) && s[:len(p)] == p {
			return s[len(p):], true
		}
	}
	return "", false
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
