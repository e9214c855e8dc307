package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/privaudit/privaudit/audit/auth"
)

func (m *Main) token(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "revoke" {
		return m.tokenRevoke(ctx, args[1:])
	}
	if len(args) == 0 || args[0] != "create" {
		return usageError{helpTopics["token"]}
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

// tokenRevoke revokes a token by its id: the API refuses it and the console
// sessions opened with it end (within the token cache's refresh, 30 s).
func (m *Main) tokenRevoke(ctx context.Context, args []string) error {
	var id string
	if _, err := m.parse("token revoke", args, func(fs *flag.FlagSet) {
		fs.StringVar(&id, "id", "", "the token's id: the part between pa_ and the second _")
	}); err != nil {
		return err
	}
	if id == "" {
		return usageError{"--id is required: the part of the token between pa_ and the second _ (pa_ID_SECRET)"}
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
	if err := tokens.Revoke(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "revoked token %s; running servers refuse it within 30 s and end its console sessions\n", id)
	return nil
}
