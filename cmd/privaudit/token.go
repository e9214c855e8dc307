package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/privaudit/privaudit/audit/auth"
)

func (m *Main) token(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError{"usage: privaudit token create --role ingest|officer|admin --name NAME"}
	}
	var role, name string
	if _, err := m.parse("token create", args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&role, "role", "", "ingest, officer or admin")
		fs.StringVar(&name, "name", "", "who the token is for (appears in the audit trail)")
	}); err != nil {
		return err
	}
	if role == "" {
		return usageError{"--role is required (ingest, officer or admin)"}
	}
	if name == "" {
		name = role
	}
	st, err := m.openStorage(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	tokens, err := auth.NewStore(st.Conn, m.Config.Schema(), m.Log)
	if err != nil {
		return err
	}
	tok, err := tokens.Create(ctx, name, role)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "created %s token %q; it is shown once, store it safely:\n", role, name)
	fmt.Fprintln(m.Stdout, tok)
	return nil
}
