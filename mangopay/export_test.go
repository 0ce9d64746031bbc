package mangopay

import (
	"crypto/tls"
	"net/http"
	"time"
)

// TransportTLSConfig exposes, to the external tests, the TLS configuration
// of the transport a Client sends requests through.
func TransportTLSConfig(c *Client) *tls.Config {
	ot, ok := c.http.Transport.(*observingTransport)
	if !ok {
		return nil
	}
	tr, ok := ot.base.(*http.Transport)
	if !ok {
		return nil
	}
	return tr.TLSClientConfig
}

// HTTPTimeouts exposes the overall, TLS-handshake and response-header
// timeouts of a Client's HTTP client.
func HTTPTimeouts(c *Client) (overall, handshake, header time.Duration) {
	overall = c.http.Timeout
	if ot, ok := c.http.Transport.(*observingTransport); ok {
		if tr, ok := ot.base.(*http.Transport); ok {
			handshake, header = tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout
		}
	}
	return overall, handshake, header
}
