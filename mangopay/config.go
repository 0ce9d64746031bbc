package mangopay

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrInvalidConfig is returned (wrapped) by New when the Config is unusable.
var ErrInvalidConfig = errors.New("invalid config")

// DefaultTimeout bounds one HTTP call of the default client, end to end.
const DefaultTimeout = 30 * time.Second

// Timeouts of the default HTTP client's steps.
const (
	defaultDialTimeout           = 10 * time.Second
	defaultTLSHandshakeTimeout   = 10 * time.Second
	defaultResponseHeaderTimeout = 20 * time.Second
)

// Config configures a Client.
type Config struct {
	// BaseURL is the API host, for example SandboxURL (the default),
	// ProductionURL, one of the mTLS hosts or a local simulator such as
	// "http://127.0.0.1:8080". It may carry a path prefix but no query.
	BaseURL string
	// ClientID is the platform's Mangopay ClientId. Required.
	ClientID string
	// APIKey is the API key of ClientID. Required.
	APIKey string

	// ClientCertFile and ClientKeyFile are PEM files holding the mTLS client
	// certificate and its private key. Set both or neither.
	ClientCertFile, ClientKeyFile string
	// ClientCertPEM and ClientKeyPEM hold the mTLS client certificate and key
	// directly, as an alternative to the files. Set both or neither.
	ClientCertPEM, ClientKeyPEM []byte

	// HTTPClient replaces the default HTTP client (30 s overall timeout plus
	// dial, TLS-handshake and response-header timeouts). When a client
	// certificate is configured as well, its Transport must be nil or an
	// *http.Transport; the client works on a clone and never modifies it.
	HTTPClient *http.Client
	// Logger receives one debug record per HTTP exchange. Nil discards.
	Logger *slog.Logger
	// Observe, when set, is called after every API exchange (metrics). It
	// gets the route template (no IDs), the status (0 for a transport
	// error) and the duration. It must be quick and safe for concurrent use.
	Observe func(method, route string, status int, d time.Duration)
	// Limiter, when set, admits every API request against a call budget
	// (for example one shared by every process through Redis) before it is
	// sent, and hears every answer. Nil sends at once.
	Limiter Limiter
}

// LogValue implements slog.LogValuer so a Config can be logged without its
// API key or private key.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL),
		slog.String("client_id", c.ClientID),
		slog.Bool("api_key_set", c.APIKey != ""),
		slog.Bool("client_cert_set", c.ClientCertFile != "" || len(c.ClientCertPEM) > 0),
	)
}

// normalize applies defaults and validates the plain fields.
func (c Config) normalize() (Config, error) {
	if strings.TrimSpace(c.ClientID) == "" {
		return c, fmt.Errorf("mangopay: %w: ClientID is required", ErrInvalidConfig)
	}
	if c.APIKey == "" {
		return c, fmt.Errorf("mangopay: %w: APIKey is required", ErrInvalidConfig)
	}
	if c.BaseURL == "" {
		c.BaseURL = SandboxURL
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return c, fmt.Errorf("mangopay: %w: BaseURL: %w", ErrInvalidConfig, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return c, fmt.Errorf("mangopay: %w: BaseURL %q must use http or https", ErrInvalidConfig, c.BaseURL)
	}
	if u.Host == "" {
		return c, fmt.Errorf("mangopay: %w: BaseURL %q has no host", ErrInvalidConfig, c.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return c, fmt.Errorf("mangopay: %w: BaseURL %q must not carry credentials, a query or a fragment", ErrInvalidConfig, c.BaseURL)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	return c, nil
}

// clientCertificate loads the mTLS client certificate, if one is configured.
func (c Config) clientCertificate() (*tls.Certificate, error) {
	hasFiles := c.ClientCertFile != "" || c.ClientKeyFile != ""
	hasPEM := len(c.ClientCertPEM) > 0 || len(c.ClientKeyPEM) > 0
	switch {
	case hasFiles && hasPEM:
		return nil, fmt.Errorf("mangopay: %w: set ClientCertFile/ClientKeyFile or ClientCertPEM/ClientKeyPEM, not both", ErrInvalidConfig)
	case hasFiles:
		if c.ClientCertFile == "" || c.ClientKeyFile == "" {
			return nil, fmt.Errorf("mangopay: %w: ClientCertFile and ClientKeyFile must be set together", ErrInvalidConfig)
		}
		cert, err := tls.LoadX509KeyPair(c.ClientCertFile, c.ClientKeyFile)
		if err != nil {
			return nil, fmt.Errorf("mangopay: %w: load client certificate: %w", ErrInvalidConfig, err)
		}
		return &cert, nil
	case hasPEM:
		if len(c.ClientCertPEM) == 0 || len(c.ClientKeyPEM) == 0 {
			return nil, fmt.Errorf("mangopay: %w: ClientCertPEM and ClientKeyPEM must be set together", ErrInvalidConfig)
		}
		cert, err := tls.X509KeyPair(c.ClientCertPEM, c.ClientKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("mangopay: %w: parse client certificate: %w", ErrInvalidConfig, err)
		}
		return &cert, nil
	default:
		return nil, nil
	}
}

// buildHTTPClient returns a private *http.Client: a copy of custom, or the
// default client, with cert added to its TLS configuration.
func buildHTTPClient(custom *http.Client, cert *tls.Certificate) (*http.Client, error) {
	if custom == nil {
		tr := defaultTransport()
		if cert != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
		}
		return &http.Client{Timeout: DefaultTimeout, Transport: tr}, nil
	}
	hc := *custom
	if cert == nil {
		if hc.Transport == nil {
			hc.Transport = http.DefaultTransport
		}
		return &hc, nil
	}
	var tr *http.Transport
	switch t := hc.Transport.(type) {
	case nil:
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			tr = dt.Clone()
		} else {
			tr = defaultTransport()
		}
	case *http.Transport:
		tr = t.Clone()
	default:
		return nil, fmt.Errorf("mangopay: %w: a client certificate needs HTTPClient.Transport to be nil or *http.Transport, got %T", ErrInvalidConfig, t)
	}
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	certs := make([]tls.Certificate, 0, len(tr.TLSClientConfig.Certificates)+1)
	certs = append(certs, tr.TLSClientConfig.Certificates...)
	tr.TLSClientConfig.Certificates = append(certs, *cert)
	hc.Transport = tr
	return &hc, nil
}

// defaultTransport is the transport of the default HTTP client.
func defaultTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: defaultDialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   defaultTLSHandshakeTimeout,
		ResponseHeaderTimeout: defaultResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
}
