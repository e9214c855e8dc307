package store

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/privaudit/privaudit/audit/chserver"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServerExceptionsNotLogged: a server exception quoting a customer id
// reaches the caller but not privaudit's log.
func TestServerExceptionsNotLogged(t *testing.T) {
	ctx := context.Background()
	ch, err := chserver.Start(ctx, chserver.Options{Dir: filepath.Join(t.TempDir(), "clickhouse")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ch.Stop(context.Background()) })
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	conn, err := Open(ctx, Options{Addrs: []string{ch.Addr}, User: ch.AdminUser, Password: ch.AdminPassword, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const customer = "cust-LOGGED-4711"
	err = conn.Exec(ctx, "SELECT toUInt64(?)", customer)
	if err == nil || !strings.Contains(err.Error(), customer) {
		t.Fatalf("want the server's exception quoting the value, got %v", err)
	}
	if strings.Contains(logs.String(), customer) {
		t.Errorf("privaudit's log holds the customer id:\n%s", logs.String())
	}
}
