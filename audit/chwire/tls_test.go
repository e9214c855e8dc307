package chwire_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit/chwire"
)

// TestReadsOverTLS: with Options.TLS, chwire reads a result through a TLS
// endpoint in front of the server (a Go TLS listener forwarding to the
// managed ClickHouse's native port), and refuses a certificate it does not
// trust.
func TestReadsOverTLS(t *testing.T) {
	s := start(t)
	srvConf, roots := testCert(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srvConf)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go forward(ln, s.opts.Addrs[0])
	o := s.opts
	o.Addrs = []string{ln.Addr().String()}
	o.TLS = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	rd, err := chwire.Query(context.Background(), o, "SELECT number FROM system.numbers LIMIT 300000")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var b chwire.Block
	var n, sum uint64
	for {
		ok, err := rd.Next(&b)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		for i := range b.Rows {
			sum += binary.LittleEndian.Uint64(b.Columns[0].Fixed(i))
			n++
		}
	}
	if n != 300000 || sum != 300000*299999/2 {
		t.Fatalf("over TLS: %d rows summing to %d, want 300000 summing to %d", n, sum, 300000*299999/2)
	}
	o.TLS = &tls.Config{MinVersion: tls.VersionTLS12} // the system's roots: the test certificate is not among them
	if _, err := chwire.Query(context.Background(), o, "SELECT 1"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("an untrusted certificate: %v, want a certificate error", err)
	}
}

// forward relays every connection accepted on ln to addr.
func forward(ln net.Listener, addr string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			up, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer up.Close()
			go func() { // when the client's side ends, so does the server's
				_, _ = io.Copy(up, c)
				up.Close()
			}()
			_, _ = io.Copy(c, up)
		}()
	}
}

// testCert is a self-signed certificate for 127.0.0.1, as a server
// configuration and as the roots that trust it.
func testCert(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "privaudit test ClickHouse"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, roots
}
