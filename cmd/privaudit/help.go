package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/term"
)

// helpTopics are each command's usage and what it does, keyed by the name
// its flags are parsed under (Main.parse) or, for a command made of
// subcommands, by the command alone. `privaudit CMD [SUB] --help` prints
// the topic, then the command's flags.
var helpTopics = map[string]string{
	"serve": `usage: privaudit serve [--listen ADDR] [flags]
Runs the HTTP API (ingest, reports, queries, schedules), the writers that store
records and their verdicts, the scheduler and /metrics. With no ClickHouse address
configured it starts and manages its own clickhouse-server under the data directory.`,
	"key":          "usage: privaudit key create [--name NAME]   (the proof key: proof.key_file, default DATA_DIR/proof.key)\n       privaudit key show                          (prints the verifier key: name+hash+public key)",
	"key create":   "usage: privaudit key create [--name NAME]\nCreates the proof log's Ed25519 signing key (proof.key_file, default DATA_DIR/proof.key, mode 0600); refuses to overwrite one.",
	"key show":     "usage: privaudit key show\nPrints the verifier key (name+hash+public key) that checks privaudit's signed checkpoints.",
	"token":        "usage: privaudit token create --role ingest|officer|admin --name NAME\n       privaudit token revoke --id ID",
	"token revoke": "usage: privaudit token revoke --id ID\nRevokes the token pa_ID_…: the API refuses it and console sessions opened with it end\n(running servers see it within 30 s).",
	"token create": "usage: privaudit token create --role ingest|officer|admin --name NAME\nCreates an API token, stores only its hash and prints the token as the last line.\nThe name appears in the audit trail as the actor of everything done with it.",
	"ingest": `usage: privaudit ingest events|consents FILE… (- for stdin)
Sends NDJSON files to a running server (PRIVAUDIT_SERVER, PRIVAUDIT_TOKEN with role ingest).
A file with a bad line is refused whole, naming each bad line, field and reason.`,
	"report":      reportUsage,
	"report list": "usage: privaudit report list\nLists the report catalog: each report's parameters and title, and the formats.",
	"report run": reportUsage + `
Downloads one report for the period [--from, --to) from a running server. The file is
written atomically; the run is recorded in the audit trail under the token's name.`,
	"schedule":      scheduleUsage,
	"schedule list": scheduleUsage,
	"schedule run":  scheduleUsage,
	"runs":          runsUsage,
	"runs show":     runsUsage,
	"runs get":      runsUsage,
	"query":         queryUsage,
	"generate": `usage: privaudit generate --out DIR [flags]
Writes a synthetic data set (events.ndjson, consents.ndjson): the bank ↔ messaging
platform story with known violations, for demos and benchmarks.`,
	"demo": `usage: privaudit demo [flags]
Runs the whole story end to end on the embedded ClickHouse: generate, ingest, reports,
schedules, a query.`,
	"bench": `usage: privaudit bench [flags] | privaudit bench reports [flags]
Measures ingest throughput, sealing into the proof log on and off, against a direct
INSERT (bench), or every report against ClickHouse reading the same rows raw (bench reports).`,
	"bench reports": `usage: privaudit bench reports [--events N] [--customers N] [flags]
Generates a month of data, ingests it through a privaudit serve process and times every
report next to ClickHouse reading the same rows raw.`,
	"verify":          verifyUsage,
	"verify verdicts": verifyUsage,
	"prove":           proveUsage,
	"verify-proof":    verifyProofUsage,
	"seal-stored":     sealStoredUsage,
	"hold":            holdUsage,
	"hold set":        holdUsage,
	"hold lift":       holdUsage,
	"hold list":       holdUsage,
	"retention":       "usage: privaudit retention drops [--verifier-key KEY]",
	"retention drops": "usage: privaudit retention drops [--verifier-key KEY]\nLists every partition the retention job dropped (privaudit_meta.retention_drops), with the\nrows and proof log leaves it removed and whether its seal verifies: signed, or UNSIGNED and why.",
	"version":         "usage: privaudit version\nPrints the version.",
}

// errHelpShown reports that a command printed its help as asked: run
// returns success.
var errHelpShown = errors.New("help shown")

// isHelpArg tells whether a is a request for help.
func isHelpArg(a string) bool {
	return slices.Contains([]string{"-h", "-help", "--help", "help"}, a)
}

// groupHelp prints the topic of a command made of subcommands (or of one
// that parses no flags) when its first argument asks for help; the
// subcommands print their own, with their flags, from Main.parse.
func groupHelp(w io.Writer, cmd string, rest []string) bool {
	switch cmd {
	case "token", "ingest", "report", "schedule", "version", "hold", "key", "retention":
	default:
		return false
	}
	if len(rest) == 0 || !isHelpArg(rest[0]) {
		return false
	}
	fmt.Fprintln(w, helpTopics[cmd])
	return true
}

// printHelp prints the help of the command parsed as name: its topic, then
// its flags.
func printHelp(w io.Writer, name string, fs *flag.FlagSet) {
	topic, ok := helpTopics[name]
	if !ok {
		topic = "usage: privaudit " + name + " [flags]"
	}
	fmt.Fprintln(w, strings.TrimRight(topic, "\n"))
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// isTerminal reports whether w is a terminal (not a file, pipe or
// /dev/null).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// binaryFormats are the output formats that garble a terminal.
var binaryFormats = []string{"xlsx", "zip", "pdf"}

// refuseBinaryToTerminal refuses to write a binary format to standard
// output (out "" or "-") when it is a terminal.
func (m *Main) refuseBinaryToTerminal(format, out string) error {
	if (out == "" || out == "-") && slices.Contains(binaryFormats, format) && isTerminal(m.Stdout) {
		return usageError{fmt.Sprintf("%s is a binary format and standard output is a terminal: "+
			"write it to a file with --out FILE, redirect the output (> FILE), or choose a text format (--format csv)", format)}
	}
	return nil
}
