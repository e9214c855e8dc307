// Package auth authenticates API requests with bearer tokens and authorises
// them by role. Tokens look like "pa_<id>_<secret>"; only a SHA-256 of the
// secret is stored (in ClickHouse, privaudit's meta database), so a database
// dump reveals no usable token.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/queries"
)

// Roles. Admin may do everything; officer reads reports and runs queries;
// ingest may only send records.
const (
	RoleIngest  = "ingest"
	RoleOfficer = "officer"
	RoleAdmin   = "admin"
)

// Roles lists the valid roles.
var Roles = []string{RoleIngest, RoleOfficer, RoleAdmin}

// Identity is the authenticated caller.
type Identity struct {
	TokenID string
	Name    string
	Role    string
}

// Allows reports whether the identity has one of roles (admin has all).
func (id Identity) Allows(roles ...string) bool {
	return id.Role == RoleAdmin || slices.Contains(roles, id.Role)
}

type ctxKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the identity of the request, if authenticated.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok
}

type token struct {
	Identity
	hash    []byte
	created time.Time
	revoked bool
}

// Store keeps tokens in ClickHouse and caches them in memory; the cache is
// refreshed on a miss (at most ten times a second) and every RefreshEvery.
type Store struct {
	conn         driver.Conn
	insertSQL    string
	listSQL      string
	log          *slog.Logger
	mu           sync.RWMutex
	reloadMu     sync.Mutex
	tokens       map[string]token
	loaded       time.Time
	RefreshEvery time.Duration
}

// NewStore returns a token store over conn.
func NewStore(conn driver.Conn, s queries.Schema, log *slog.Logger) (*Store, error) {
	ins, err := queries.Auth("insert_token", s)
	if err != nil {
		return nil, err
	}
	list, err := queries.Auth("list_tokens", s)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	return &Store{conn: conn, insertSQL: ins, listSQL: list, log: log, tokens: map[string]token{}, RefreshEvery: 30 * time.Second}, nil
}

// Create makes a new token for name with role and returns it in clear; this
// is the only time the clear token exists.
func (s *Store) Create(ctx context.Context, name, role string) (string, error) {
	if !slices.Contains(Roles, role) {
		return "", fmt.Errorf("token: unknown role %q (want one of %s)", role, strings.Join(Roles, ", "))
	}
	if strings.TrimSpace(name) == "" {
		return "", fmt.Errorf("token: a name is required (it identifies the caller in the audit trail)")
	}
	id, secret := randHex(8), randHex(24)
	// A batch sends the hash as data, never in query text that other users
	// could see in system.processes.
	b, err := s.conn.PrepareBatch(ctx, s.insertSQL)
	if err != nil {
		return "", fmt.Errorf("store token: %w", err)
	}
	defer b.Close()
	created := time.Now().UTC().Truncate(time.Second)
	if err := b.Append(id, name, role, hashHex(secret), created, uint8(0), uint64(1)); err != nil {
		return "", fmt.Errorf("store token: %w", err)
	}
	if err := b.Send(); err != nil {
		return "", fmt.Errorf("store token: %w", err)
	}
	h, _ := hex.DecodeString(hashHex(secret))
	s.mu.Lock()
	s.tokens[id] = token{Identity: Identity{TokenID: id, Name: name, Role: role}, hash: h, created: created}
	s.mu.Unlock()
	return "pa_" + id + "_" + secret, nil
}

// Authenticate resolves a bearer token to an identity.
func (s *Store) Authenticate(ctx context.Context, bearer string) (Identity, error) {
	rest, ok := strings.CutPrefix(bearer, "pa_")
	id, secret, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || id == "" || secret == "" {
		return Identity{}, apierr.Errorf(apierr.Unauthorized, "malformed token")
	}
	t, found, err := s.lookup(ctx, id)
	if err != nil {
		return Identity{}, &apierr.Error{Code: apierr.Unavailable, Message: "cannot verify the token now (token store unreachable); retry later",
			RetryAfter: 5 * time.Second, Err: err}
	}
	if !found || t.revoked {
		return Identity{}, apierr.Errorf(apierr.Unauthorized, "unknown or revoked token")
	}
	want, _ := hex.DecodeString(hashHex(secret))
	if subtle.ConstantTimeCompare(want, t.hash) != 1 {
		return Identity{}, apierr.Errorf(apierr.Unauthorized, "unknown or revoked token")
	}
	return t.Identity, nil
}

// Active returns the identity of the token tokenID while it exists and is
// not revoked: what a console session, which keeps the token's id but never
// its secret, asks on each request. It answers from the cache, which
// reloads every RefreshEvery, so a revocation made by another process is
// seen within that time and one made through this Store at once.
func (s *Store) Active(ctx context.Context, tokenID string) (Identity, error) {
	t, found, err := s.lookup(ctx, tokenID)
	if err != nil {
		return Identity{}, &apierr.Error{Code: apierr.Unavailable, Message: "cannot verify the token now (token store unreachable); retry later",
			RetryAfter: 5 * time.Second, Err: err}
	}
	if !found || t.revoked {
		return Identity{}, apierr.Errorf(apierr.Unauthorized, "unknown or revoked token")
	}
	return t.Identity, nil
}

// Revoke marks the token tokenID revoked: a newer version of its row, so
// every privaudit sharing the meta database refuses it from its next reload.
func (s *Store) Revoke(ctx context.Context, tokenID string) error {
	t, found, err := s.lookup(ctx, tokenID)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if !found {
		return fmt.Errorf("revoke token: no token with id %q (the id is the part between pa_ and the second _)", tokenID)
	}
	b, err := s.conn.PrepareBatch(ctx, s.insertSQL)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	defer b.Close()
	version := uint64(time.Now().UnixNano())
	if err := b.Append(t.TokenID, t.Name, t.Role, hex.EncodeToString(t.hash), t.created, uint8(1), version); err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	t.revoked = true
	s.mu.Lock()
	s.tokens[tokenID] = t
	s.mu.Unlock()
	return nil
}

// lookup finds a token in the cache. A miss reloads the tokens (so a token
// created a moment ago by another process works at once); reloads are
// serialised and at most ten a second, and a reload that started after the
// request arrived answers for it. While ClickHouse is unreachable known
// tokens keep working (ingest goes on into the spool); an unknown one yields
// an error rather than a verdict.
func (s *Store) lookup(ctx context.Context, id string) (token, bool, error) {
	asked := time.Now()
	s.mu.RLock()
	t, ok := s.tokens[id]
	fresh := time.Since(s.loaded) < s.RefreshEvery
	s.mu.RUnlock()
	if ok && fresh {
		return t, true, nil
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	s.mu.RLock()
	loaded := s.loaded
	t, ok = s.tokens[id]
	s.mu.RUnlock()
	if loaded.After(asked) {
		return t, ok, nil
	}
	if wait := 100*time.Millisecond - time.Since(loaded); wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return t, ok, ctx.Err()
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := s.reload(rctx); err != nil {
		s.log.Warn("reload tokens", "err", err)
		if ok {
			return t, true, nil
		}
		return t, false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok = s.tokens[id]
	return t, ok, nil
}

// Load reads all tokens now; serve calls it at start.
func (s *Store) Load(ctx context.Context) error { return s.reload(ctx) }

func (s *Store) reload(ctx context.Context) error {
	start := time.Now()
	rows, err := s.conn.Query(ctx, s.listSQL)
	if err != nil {
		return err
	}
	defer rows.Close()
	m := map[string]token{}
	for rows.Next() {
		var t token
		var hash string
		var revoked uint8
		if err := rows.Scan(&t.TokenID, &t.Name, &t.Role, &hash, &t.created, &revoked); err != nil {
			return err
		}
		t.hash, _ = hex.DecodeString(hash)
		t.revoked = revoked != 0
		m[t.TokenID] = t
	}
	if err := rows.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.tokens, s.loaded = m, start
	s.mu.Unlock()
	return nil
}

// Require wraps h so it runs only for a valid token whose role is one of
// roles: 401 without or with a bad token, 403 with the wrong role.
func (s *Store) Require(log *slog.Logger, h http.Handler, roles ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bearer, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok {
			apierr.Write(w, r, log, apierr.Errorf(apierr.Unauthorized, "missing bearer token (Authorization: Bearer …); create one with `privaudit token create`"))
			return
		}
		id, err := s.Authenticate(r.Context(), bearer)
		if err != nil {
			apierr.Write(w, r, log, err)
			return
		}
		if !id.Allows(roles...) {
			apierr.Write(w, r, log, apierr.Errorf(apierr.Forbidden, "role %q may not %s %s (needs %s)", id.Role, r.Method, r.URL.Path, strings.Join(roles, " or ")))
			return
		}
		h.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
	})
}

// bearerToken returns the credentials of an Authorization header of the
// Bearer scheme, whose name is case-insensitive (RFC 9110 §11.1); spaces
// around and between scheme and token are tolerated.
func bearerToken(authz string) (string, bool) {
	f := strings.Fields(authz)
	if len(f) != 2 || !strings.EqualFold(f[0], "Bearer") {
		return "", false
	}
	return f[1], true
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func hashHex(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}
