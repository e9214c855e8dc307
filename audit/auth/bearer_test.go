package auth

import "testing"

// TestBearerToken: the scheme name is case-insensitive (RFC 9110 §11.1) and
// spaces around it are tolerated; anything else is no bearer token.
func TestBearerToken(t *testing.T) {
	for in, want := range map[string]string{
		"Bearer pa_x": "pa_x", "bearer pa_x": "pa_x", "BEARER pa_x": "pa_x", "  bEaReR \t pa_x  ": "pa_x",
		"": "", "Bearer": "", "Bearer ": "", "Basic pa_x": "", "Bearerpa_x": "", "Bearer pa_x extra": "",
	} {
		got, ok := bearerToken(in)
		if got != want || ok != (want != "") {
			t.Errorf("bearerToken(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
