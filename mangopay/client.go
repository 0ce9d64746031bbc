// Package mangopay is a typed client for the Mangopay REST API v2.01.
//
// It covers the parts of the API that a KYC/KYB integration needs: natural and
// legal users (legacy and SCA endpoints) and their regulatory status (KYC
// renewal deadline), hosted identity verification (IDV) sessions and the PSC
// sessions of businesses, KYC documents, webhooks (hooks), events and the
// idempotency response store.
//
// The client authenticates with OAuth2 client credentials and renews its token
// 30 seconds before it expires; concurrent callers share one token and one
// renewal. It retries a request exactly once when Mangopay rejects the token
// with invalid_credentials, recovers the original response of a POST that hit
// an idempotency conflict, and records the rate-limit headers of every
// response (see [Client.RateLimits]). A [Limiter] (Config.Limiter) admits
// every request against a call budget first, by the [Priority] the context
// carries; a 429 is a [*RateLimitedError] that says when to retry. It
// retries nothing else: the caller (for
// example a Temporal activity) owns the retry policy and classifies failures
// with [IsRetryable], [IsPermanent] and [IsNotFound].
//
// Every API failure is an [*Error] (or a [*PendingUserActionError] when Mangopay
// asks for strong customer authentication), reachable with errors.As through
// the context the client adds. Transport failures are wrapped with %w, so
// errors.Is(err, context.DeadlineExceeded) works.
package mangopay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/kycflow/kycflow/internal/spanurl"
)

// Base URLs of the Mangopay API.
const (
	// SandboxURL is the Sandbox API host. It is the default BaseURL.
	SandboxURL = "https://api.sandbox.mangopay.com"
	// ProductionURL is the Production API host.
	ProductionURL = "https://api.mangopay.com"
	// SandboxMTLSURL is the Sandbox host for clients that authenticate with a
	// client certificate (mTLS).
	SandboxMTLSURL = "https://api-mtls.sandbox.mangopay.com"
	// ProductionMTLSURL is the Production host for clients that authenticate
	// with a client certificate (mTLS).
	ProductionMTLSURL = "https://api-mtls.mangopay.com"
)

// APIVersion is the version segment of every API path.
const APIVersion = "v2.01"

// UserAgent is the User-Agent header sent with every request.
const UserAgent = "kycflow-mangopay-go/0.1"

// maxResponseBytes caps how much of a response body the client reads.
const maxResponseBytes = 10 << 20

// logMsgRequest is the message of the debug record written for every API call.
const logMsgRequest = "mangopay request"

// Client calls the Mangopay API. It is safe for concurrent use; create one per
// ClientID and share it.
type Client struct {
	baseURL  string
	clientID string
	http     *http.Client
	log      *slog.Logger
	observe  func(method, route string, status int, d time.Duration)
	auth     *authenticator
	limits   *rateLimitRecorder
	limiter  Limiter
}

// New validates cfg and returns a Client. It does no I/O: the first OAuth
// token is fetched by the first API call.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	cert, err := cfg.clientCertificate()
	if err != nil {
		return nil, err
	}
	hc, err := buildHTTPClient(cfg.HTTPClient, cert)
	if err != nil {
		return nil, err
	}
	limits := newRateLimitRecorder()
	// Each call is a client span of its caller's trace (the activity's),
	// and carries the trace context (traceparent).
	hc.Transport = &observingTransport{base: hc.Transport, limits: limits,
		// spanurl: the span's url.full without the path's IDs and the query.
		send: otelhttp.NewTransport(spanurl.Transport(hc.Transport),
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "mangopay " + r.Method }))}

	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		baseURL:  cfg.BaseURL,
		clientID: cfg.ClientID,
		http:     hc,
		log:      logger,
		observe:  cfg.Observe,
		limits:   limits,
		limiter:  cfg.Limiter,
	}
	c.auth = newAuthenticator(cfg.BaseURL+"/"+APIVersion+"/oauth/token", cfg.ClientID, cfg.APIKey, hc, logger)
	return c, nil
}

// endpoint describes one API call.
type endpoint struct {
	method string
	// tmpl is the path template (for example "/users/{UserId}"); it names the
	// endpoint in logs and errors.
	tmpl string
	// path is the escaped path after /v2.01/{ClientId}.
	path           string
	query          url.Values
	body           any
	idempotencyKey string
}

// wrap adds the endpoint to err.
func (ep *endpoint) wrap(err error) error {
	return fmt.Errorf("mangopay: %s %s: %w", ep.method, ep.tmpl, err)
}

// response is a fully read HTTP response.
type response struct {
	status int
	header http.Header
	body   []byte
	// truncated reports that the body exceeded maxResponseBytes.
	truncated bool
}

// do performs ep and decodes a 2xx body into out (when out is not nil). It
// returns the response headers of the successful response.
func (c *Client) do(ctx context.Context, ep *endpoint, out any) (http.Header, error) {
	if ep.idempotencyKey != "" {
		if err := ValidateIdempotencyKey(ep.idempotencyKey); err != nil {
			return nil, ep.wrap(err)
		}
	}
	var body []byte
	if ep.body != nil {
		b, err := json.Marshal(ep.body)
		if err != nil {
			return nil, ep.wrap(fmt.Errorf("encode request body: %w", err))
		}
		body = b
	}

	resp, err := c.send(ctx, ep, body)
	if err != nil {
		return nil, ep.wrap(err)
	}
	if resp.status >= 200 && resp.status < 300 {
		if resp.truncated {
			return nil, ep.wrap(fmt.Errorf("response body exceeds %d bytes", maxResponseBytes))
		}
		if err := decodeBody(resp.body, out); err != nil {
			return nil, ep.wrap(err)
		}
		return resp.header, nil
	}

	apiErr := parseError(resp.status, resp.body)
	if resp.status == http.StatusTooManyRequests {
		limits, _ := parseRateLimits(resp.header, time.Now())
		return nil, ep.wrap(rateLimited(apiErr, limits, time.Now()))
	}
	if resp.status == http.StatusUnauthorized {
		if redirect, ok := pendingUserAction(resp.header); ok {
			return nil, ep.wrap(&PendingUserActionError{RedirectURL: redirect, Err: apiErr})
		}
	}
	if resp.status == http.StatusConflict && apiErr.Type == ErrTypeIdempotentCreationConflict && ep.idempotencyKey != "" {
		return c.recoverConflict(ctx, ep, apiErr, out)
	}
	return nil, ep.wrap(apiErr)
}

// send performs the HTTP exchange, re-authenticating and retrying once when
// Mangopay answers 401 invalid_credentials. The body must be replayable,
// which is why it is passed as bytes.
func (c *Client) send(ctx context.Context, ep *endpoint, body []byte) (*response, error) {
	for attempt := 1; ; attempt++ {
		// The budget comes first: a process that must wait does not even
		// fetch a token meanwhile.
		call, err := c.limitCall(ctx, ep)
		if err != nil {
			return nil, err
		}
		tok, src, err := c.auth.token(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := c.roundTrip(ctx, ep, call, body, tok.AccessToken, attempt)
		if err != nil {
			return nil, err
		}
		if attempt > 1 || !needsReauth(resp) {
			return resp, nil
		}
		if err := c.auth.invalidate(ctx, src, tok); err != nil {
			return nil, err
		}
	}
}

// needsReauth reports whether resp says the access token is no longer valid
// (as opposed to an SCA challenge, which also uses 401).
func needsReauth(resp *response) bool {
	if resp.status != http.StatusUnauthorized {
		return false
	}
	if _, ok := pendingUserAction(resp.header); ok {
		return false
	}
	return parseError(resp.status, resp.body).Type == ErrTypeInvalidCredentials
}

// roundTrip sends one request and reads its response.
func (c *Client) roundTrip(ctx context.Context, ep *endpoint, call Call, body []byte, token string, attempt int) (*response, error) {
	u := c.baseURL + "/" + APIVersion + "/" + url.PathEscape(c.clientID) + ep.path
	if len(ep.query) > 0 {
		u += "?" + ep.query.Encode()
	}
	var rdr io.Reader
	if body != nil {
		rdr = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, ep.method, u, rdr)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ep.idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", ep.idempotencyKey)
	}

	start := time.Now()
	res, err := c.http.Do(req)
	if err != nil {
		c.doneCall(call, 0, nil, time.Now())
		c.logRequest(ctx, ep, 0, time.Since(start), attempt, err)
		return nil, err
	}
	defer res.Body.Close()
	c.doneCall(call, res.StatusCode, res.Header, time.Now())
	data, truncated, err := readCapped(res.Body)
	c.logRequest(ctx, ep, res.StatusCode, time.Since(start), attempt, err)
	if err != nil {
		return nil, fmt.Errorf("read response body: %w", err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: data, truncated: truncated}, nil
}

// logRequest writes the debug record of one HTTP exchange. It never logs
// bodies or headers.
func (c *Client) logRequest(ctx context.Context, ep *endpoint, status int, d time.Duration, attempt int, err error) {
	if c.observe != nil {
		c.observe(ep.method, ep.tmpl, status, d)
	}
	if !c.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", ep.method),
		slog.String("path", ep.tmpl),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.Int("attempt", attempt),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, logMsgRequest, attrs...)
}

// readCapped reads at most maxResponseBytes of r and reports whether there
// was more.
func readCapped(r io.Reader) ([]byte, bool, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxResponseBytes+1))
	if err != nil {
		return nil, false, err
	}
	if len(data) > maxResponseBytes {
		return data[:maxResponseBytes], true, nil
	}
	return data, false, nil
}

// decodeBody unmarshals a successful response body into out.
func decodeBody(body []byte, out any) error {
	if out == nil {
		return nil
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return errors.New("decode response: empty body")
	}
	if err := json.Unmarshal(trimmed, out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// errNilParams is returned when a required params argument is nil.
var errNilParams = fmt.Errorf("%w: params are required", ErrInvalidRequest)

// doResource performs ep and decodes the response into a new T.
func doResource[T any](ctx context.Context, c *Client, ep *endpoint) (*T, error) {
	var v T
	if _, err := c.do(ctx, ep, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// doList performs ep, adding the paging options, and decodes a JSON array.
func doList[T any](ctx context.Context, c *Client, ep *endpoint, opts *ListOptions) ([]T, *Pagination, error) {
	if ep.query == nil {
		ep.query = url.Values{}
	}
	opts.values(ep.query)
	var items []T
	header, err := c.do(ctx, ep, &items)
	if err != nil {
		return nil, nil, err
	}
	return items, newPagination(header, opts), nil
}

// pathID escapes one path segment after checking it is usable.
func pathID(name, id string) (string, error) {
	if strings.TrimSpace(id) == "" {
		return "", fmt.Errorf("%w: %s is required", ErrInvalidRequest, name)
	}
	if id == "." || id == ".." {
		return "", fmt.Errorf("%w: %s %q is not a valid identifier", ErrInvalidRequest, name, id)
	}
	return url.PathEscape(id), nil
}

// BaseURL is the API host the client calls (readiness checks reach it).
func (c *Client) BaseURL() string { return c.baseURL }
