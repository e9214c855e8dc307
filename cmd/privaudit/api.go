package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/privaudit/privaudit/reports"
)

// apiCall is one request of a client command to a running privaudit.
type apiCall struct {
	method string
	path   string
	query  url.Values
	body   []byte // sent as JSON when not nil
}

// api sends an authenticated request to the server at PRIVAUDIT_SERVER and
// turns an error answer into an error carrying the server's message and, for
// 401/403, how to get a suitable token. The caller closes the body.
func (m *Main) api(ctx context.Context, c apiCall) (*http.Response, error) {
	if m.Config.Token == "" {
		return nil, errors.New("no token: set PRIVAUDIT_TOKEN or --token (create one with `privaudit token create --role officer`)")
	}
	u := strings.TrimRight(m.Config.Server, "/") + c.path
	if len(c.query) > 0 {
		u += "?" + c.query.Encode()
	}
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+m.Config.Token)
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach privaudit at %s: %w (is `privaudit serve` running? set PRIVAUDIT_SERVER)", m.Config.Server, err)
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	err = reports.DecodeError(resp.StatusCode, b)
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return nil, fmt.Errorf("%w (reports, schedules and queries need an officer or admin token: `privaudit token create --role officer`)", err)
	}
	return nil, err
}
