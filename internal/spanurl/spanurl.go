// Package spanurl keeps what an outgoing HTTP call's span records of its
// URL to what is no secret and no personal data: otelhttp records url.full
// as is, with the user IDs of Mangopay's paths and any token of a query
// string, and a trace is read by more people than the API's data is.
package spanurl

import (
	"net/http"
	"strings"
	"unicode"

	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// IDSegment replaces a path segment that looks like an identifier.
const IDSegment = "{id}"

// Transport wraps the transport under otelhttp's (otelhttp.NewTransport(
// Transport(base))): by the time a request reaches it, otelhttp's span is
// the request's, and url.full is overwritten with Redact's (a span keeps
// the last value of a key). base nil is http.DefaultTransport.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper{base: base}
}

type roundTripper struct{ base http.RoundTripper }

func (t roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	if span := trace.SpanFromContext(r.Context()); span.IsRecording() && r.URL != nil {
		span.SetAttributes(semconv.URLFull(Redact(r.URL.Scheme, r.URL.Host, r.URL.EscapedPath())))
	}
	return t.base.RoundTrip(r)
}

// Redact is scheme://host/path with no query string, no user info and
// each identifier-like segment of the path (8 characters or more, a digit
// among them: user_m_01M97…, idv_…, a path token) as IDSegment. Short or
// digit-free segments (v2.01, users, kyc) stay: they are the route.
func Redact(scheme, host, path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if len(s) >= 8 && strings.IndexFunc(s, unicode.IsDigit) >= 0 {
			segs[i] = IDSegment
		}
	}
	return scheme + "://" + host + strings.Join(segs, "/")
}
