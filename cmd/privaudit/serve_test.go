package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for 127.0.0.1.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "privaudit-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// TestServeTLSMetricsAndGracefulShutdown runs `privaudit serve` with TLS,
// checks /healthz and /metrics (auth and content), ingests, and stops it with
// SIGTERM: it must exit cleanly having flushed the spool to ClickHouse.
func TestServeTLSMetricsAndGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	cert, key := writeCert(t, t.TempDir())
	t.Setenv("PRIVAUDIT_TLS_CERT", cert)
	t.Setenv("PRIVAUDIT_TLS_KEY", key)
	srv := startServe(t, bin, dataDir)
	if !strings.HasPrefix(srv.url, "https://") {
		t.Fatalf("serve with a certificate must speak https, got %s", srv.url)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", srv.url+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz", ""); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	if code, _ := get("/metrics", ""); code != 401 {
		t.Fatalf("metrics without token: %d, want 401", code)
	}
	ingestTok := createToken(t, bin, dataDir, "ingest")
	officer := createToken(t, bin, dataDir, "officer")
	if code, body := get("/metrics", ingestTok); code != 403 {
		t.Fatalf("metrics with an ingest token: %d, want 403: %s (token %q)", code, body, ingestTok)
	}
	var b strings.Builder
	for i := 0; i < 50; i++ {
		b.WriteString(crashEvent(i) + "\n")
	}
	req, _ := http.NewRequest("POST", srv.url+"/v1/events", strings.NewReader(b.String()))
	req.Header.Set("Authorization", "Bearer "+ingestTok)
	resp, err := hc.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("ingest over TLS: %v %v", err, resp)
	}
	resp.Body.Close()
	code, metrics := get("/metrics", officer)
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{`privaudit_ingest_records_accepted_total{kind="events"} 50`, "privaudit_spool_pending_records", "privaudit_ingest_request_seconds"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop within 60s of SIGTERM")
	}
	// The managed ClickHouse stopped with it; restart to count what was flushed.
	srv2 := startServe(t, bin, dataDir)
	defer func() { srv2.cmd.Process.Signal(syscall.SIGTERM); srv2.cmd.Wait() }()
	ids := waitForStored(t, attachClickHouse(t, dataDir), 50)
	if len(ids) != 50 {
		t.Fatalf("%d events stored, want 50", len(ids))
	}
	if _, err := os.Stat(filepath.Join(dataDir, "clickhouse", "server.pid")); err != nil {
		t.Fatalf("restarted server has no pid file: %v", err)
	}
}
