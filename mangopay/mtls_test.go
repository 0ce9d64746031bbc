package mangopay_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopay"
)

const clientCertCN = "kycflow-test-client"

// selfSignedClientCert returns a PEM certificate and key usable for TLS
// client authentication, and the parsed certificate.
func selfSignedClientCert(t *testing.T) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: clientCertCN},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err = x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, cert
}

// mtlsServer starts the fake behind TLS that requires a client certificate
// signed by ca, and records the common names it sees.
func mtlsServer(t *testing.T, ca *x509.Certificate) (*fakeMangopay, *httptest.Server, func() []string) {
	t.Helper()
	f := newFake(t)
	f.serve("GET /hooks/hook_1", 200, "hook.json")
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			mu.Lock()
			seen = append(seen, r.URL.Path+" "+r.TLS.PeerCertificates[0].Subject.CommonName)
			mu.Unlock()
		}
		f.ServeHTTP(w, r)
	}))
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return f, srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

func TestMTLS_ClientPresentsCertificate(t *testing.T) {
	certPEM, keyPEM, cert := selfSignedClientCert(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	require.NoError(t, os.WriteFile(certFile, certPEM, 0o600))
	require.NoError(t, os.WriteFile(keyFile, keyPEM, 0o600))

	tests := []struct {
		name string
		cfg  func(cfg mangopay.Config) mangopay.Config
	}{
		{name: "pem", cfg: func(cfg mangopay.Config) mangopay.Config {
			cfg.ClientCertPEM, cfg.ClientKeyPEM = certPEM, keyPEM
			return cfg
		}},
		{name: "files", cfg: func(cfg mangopay.Config) mangopay.Config {
			cfg.ClientCertFile, cfg.ClientKeyFile = certFile, keyFile
			return cfg
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv, seen := mtlsServer(t, cert)
			// srv.Client trusts the test server's certificate; New adds the
			// client certificate to a clone of its transport.
			base := srv.Client()
			c, err := mangopay.New(tt.cfg(mangopay.Config{BaseURL: srv.URL, ClientID: testClientID, APIKey: testAPIKey, HTTPClient: base}))
			require.NoError(t, err)

			_, err = c.GetHook(context.Background(), "hook_1")

			require.NoError(t, err)
			assert.Equal(t, []string{
				"/v2.01/oauth/token " + clientCertCN,
				"/v2.01/" + testClientID + "/hooks/hook_1 " + clientCertCN,
			}, seen(), "both the token and the API call present the certificate")
			assert.Empty(t, base.Transport.(*http.Transport).TLSClientConfig.Certificates, "caller's client untouched")
		})
	}
}

func TestMTLS_WithoutCertificateFails(t *testing.T) {
	_, _, cert := selfSignedClientCert(t)
	f, srv, _ := mtlsServer(t, cert)
	c, err := mangopay.New(mangopay.Config{BaseURL: srv.URL, ClientID: testClientID, APIKey: testAPIKey, HTTPClient: srv.Client()})
	require.NoError(t, err)

	_, err = c.GetHook(context.Background(), "hook_1")

	require.Error(t, err)
	assert.Zero(t, f.requestCount())
}

func TestMTLS_DefaultClientCarriesCertificate(t *testing.T) {
	certPEM, keyPEM, cert := selfSignedClientCert(t)

	c, err := mangopay.New(mangopay.Config{BaseURL: mangopay.SandboxMTLSURL, ClientID: "id", APIKey: "key", ClientCertPEM: certPEM, ClientKeyPEM: keyPEM})

	require.NoError(t, err)
	tlsCfg := mangopay.TransportTLSConfig(c)
	require.NotNil(t, tlsCfg)
	require.Len(t, tlsCfg.Certificates, 1)
	assert.Equal(t, cert.Raw, tlsCfg.Certificates[0].Certificate[0])
	assert.GreaterOrEqual(t, tlsCfg.MinVersion, uint16(tls.VersionTLS12))
	overall, handshake, header := mangopay.HTTPTimeouts(c)
	assert.Equal(t, 30*time.Second, overall)
	assert.Positive(t, handshake)
	assert.Positive(t, header)
}

func TestMTLS_CustomRoundTripperCannotTakeCertificate(t *testing.T) {
	certPEM, keyPEM, _ := selfSignedClientCert(t)
	custom := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, nil })}

	_, err := mangopay.New(mangopay.Config{ClientID: "id", APIKey: "key", ClientCertPEM: certPEM, ClientKeyPEM: keyPEM, HTTPClient: custom})

	require.Error(t, err)
	assert.ErrorIs(t, err, mangopay.ErrInvalidConfig)
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
