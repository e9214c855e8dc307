package main

import (
	"net/http"

	"github.com/privaudit/privaudit/reports/console"
)

// mountConsole adds the officers' web console (/console/) to mux: sign-in
// with the API's tokens, sessions as configured, its actions recorded
// through the ingestor like the API's.
func (m *Main) mountConsole(s *server, mux *http.ServeMux) error {
	o := console.Options{Tokens: s.tokens, Record: s.ingestor.Record, Ready: s.ingestor.Readiness,
		IdleTimeout: m.Config.Console.IdleTimeout, MaxAge: m.Config.Console.MaxAge, Version: version, Logger: m.Log,
		Reports: s.reports}
	if s.scheduler != nil {
		o.Runs = s.scheduler.Runs
	}
	c, err := console.New(o)
	if err != nil {
		return err
	}
	c.Routes(mux)
	s.console = c
	return nil
}
