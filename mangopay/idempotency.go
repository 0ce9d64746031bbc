package mangopay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidIdempotencyKey is returned (wrapped), before any I/O, when an
// idempotency key is not 16 to 36 characters of A-Z, a-z, 0-9 and '-'.
var ErrInvalidIdempotencyKey = errors.New("invalid idempotency key")

// ErrIdempotentResponsePending is returned (wrapped, with the 409) when a
// POST hit an idempotency conflict but GET /responses/{key} has no stored
// response yet: the first call with the key is still in flight. It is
// retryable: a later attempt recovers the response.
var ErrIdempotentResponsePending = errors.New("idempotency key in use: the first call's response is not stored yet")

// ErrIdempotencyKeyMismatch is returned (wrapped) when the response stored
// for an idempotency key is of another request (its RequestURL names another
// endpoint): the key was reused for a different call. It is permanent.
var ErrIdempotencyKeyMismatch = errors.New("idempotency key was used for another request")

// Length bounds of an idempotency key.
const (
	minIdempotencyKeyLen = 16
	maxIdempotencyKeyLen = 36
)

// ValidateIdempotencyKey checks key against Mangopay's rules: 16 to 36
// characters of A-Z, a-z, 0-9 and '-'. A UUID qualifies.
func ValidateIdempotencyKey(key string) error {
	if len(key) < minIdempotencyKeyLen || len(key) > maxIdempotencyKeyLen {
		return fmt.Errorf("%w: %q has %d characters, want %d to %d", ErrInvalidIdempotencyKey, key, len(key), minIdempotencyKeyLen, maxIdempotencyKeyLen)
	}
	for i := 0; i < len(key); i++ {
		ch := key[i]
		if (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' {
			continue
		}
		return fmt.Errorf("%w: %q contains %q, want only A-Z, a-z, 0-9 and '-'", ErrInvalidIdempotencyKey, key, ch)
	}
	return nil
}

// DeriveIdempotencyKey returns a valid idempotency key (32 hex characters)
// that depends only on parts, for example a workflow run ID and an activity
// ID, so that retries of one logical operation reuse the same key.
func DeriveIdempotencyKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		// Length-prefix each part so ("ab","c") and ("a","bc") differ.
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// IdempotencyResponse is the stored response of an earlier POST, as returned
// by GET /responses/{IdempotencyKey} for 24 hours after the call.
type IdempotencyResponse struct {
	// StatusCode is the HTTP status of the original response (sent by
	// Mangopay as a string).
	StatusCode int
	// ContentLength is the length of the original body (sent as a string);
	// 0 when absent or malformed.
	ContentLength int64
	// ContentType is the original Content-Type.
	ContentType string
	// Date is when the original response was sent (an RFC 1123 string on the
	// wire); zero when absent or malformed.
	Date time.Time
	// RequestURL is the URL of the original request.
	RequestURL string
	// Resource is the original response body: the created object, or an
	// error body.
	Resource json.RawMessage
}

// UnmarshalJSON decodes the envelope, accepting StatusCode and ContentLength
// as strings or numbers.
func (r *IdempotencyResponse) UnmarshalJSON(data []byte) error {
	var wire struct {
		StatusCode    json.RawMessage `json:"StatusCode"`
		ContentLength json.RawMessage `json:"ContentLength"`
		ContentType   string          `json:"ContentType"`
		Date          json.RawMessage `json:"Date"`
		RequestURL    string          `json:"RequestURL"`
		Resource      json.RawMessage `json:"Resource"`
	}
	if err := json.Unmarshal(data, &wire); err != nil {
		return err
	}
	status, err := strconv.Atoi(rawString(wire.StatusCode))
	if err != nil {
		return fmt.Errorf("idempotency response: StatusCode %s is not a number", wire.StatusCode)
	}
	length, _ := strconv.ParseInt(rawString(wire.ContentLength), 10, 64)
	*r = IdempotencyResponse{
		StatusCode:    status,
		ContentLength: length,
		ContentType:   wire.ContentType,
		Date:          parseHTTPDate(wire.Date),
		RequestURL:    wire.RequestURL,
		Resource:      wire.Resource,
	}
	return nil
}

// MarshalJSON encodes the envelope in Mangopay's wire format.
func (r IdempotencyResponse) MarshalJSON() ([]byte, error) {
	wire := struct {
		StatusCode    string          `json:"StatusCode"`
		ContentLength string          `json:"ContentLength"`
		ContentType   string          `json:"ContentType"`
		Date          string          `json:"Date,omitempty"`
		RequestURL    string          `json:"RequestURL"`
		Resource      json.RawMessage `json:"Resource,omitempty"`
	}{
		StatusCode:    strconv.Itoa(r.StatusCode),
		ContentLength: strconv.FormatInt(r.ContentLength, 10),
		ContentType:   r.ContentType,
		RequestURL:    r.RequestURL,
		Resource:      r.Resource,
	}
	if !r.Date.IsZero() {
		wire.Date = r.Date.UTC().Format(http.TimeFormat)
	}
	return json.Marshal(wire)
}

// Succeeded reports whether the original call returned a 2xx status.
func (r *IdempotencyResponse) Succeeded() bool {
	return r.StatusCode >= 200 && r.StatusCode < 300
}

// Decode unmarshals Resource into v.
func (r *IdempotencyResponse) Decode(v any) error {
	return decodeBody(r.Resource, v)
}

// OriginalError returns the original error response, or nil when the
// original call succeeded.
func (r *IdempotencyResponse) OriginalError(key string) *Error {
	if r.Succeeded() {
		return nil
	}
	e := parseError(r.StatusCode, r.Resource)
	e.IdempotencyKey = key
	return e
}

// GetResponse returns the stored response of the POST sent with key (GET
// /responses/{IdempotencyKey}).
func (c *Client) GetResponse(ctx context.Context, key string) (*IdempotencyResponse, error) {
	ep := &endpoint{method: http.MethodGet, tmpl: "/responses/{IdempotencyKey}"}
	if err := ValidateIdempotencyKey(key); err != nil {
		return nil, ep.wrap(err)
	}
	ep.path = "/responses/" + key
	var r IdempotencyResponse
	if _, err := c.do(ctx, ep, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// recoverConflict resolves a 409 idempotent_creation_conflict: Mangopay
// blocks a reused key instead of replaying the first response, so the client
// fetches that response and returns it as the outcome of this call, after
// checking that it is the response of the same endpoint.
func (c *Client) recoverConflict(ctx context.Context, ep *endpoint, conflict *Error, out any) (http.Header, error) {
	key := ep.idempotencyKey
	lookup := &endpoint{method: http.MethodGet, tmpl: "/responses/{IdempotencyKey}", path: "/responses/" + key}
	var stored IdempotencyResponse
	header, err := c.do(ctx, lookup, &stored)
	if err != nil {
		if IsNotFound(err) {
			// The 409 says the key was used within 24 hours, so nothing
			// stored means the first call has not answered yet.
			return nil, ep.wrap(fmt.Errorf("%w: %w (key %s)", conflict, ErrIdempotentResponsePending, key))
		}
		if IsRetryable(err) {
			return nil, ep.wrap(fmt.Errorf("recover response of idempotency key %s: %w", key, err))
		}
		return nil, ep.wrap(fmt.Errorf("%w; original response not recoverable: %w", conflict, err))
	}
	if !sameEndpoint(stored.RequestURL, ep.path) {
		return nil, ep.wrap(fmt.Errorf("%w: key %s, stored response of %s", ErrIdempotencyKeyMismatch, key, stored.RequestURL))
	}
	if !stored.Succeeded() {
		return nil, ep.wrap(stored.OriginalError(key))
	}
	if out != nil {
		if err := stored.Decode(out); err != nil {
			return nil, ep.wrap(fmt.Errorf("recovered response of idempotency key %s: %w", key, err))
		}
	}
	return header, nil
}

// sameEndpoint reports whether requestURL (the RequestURL of a stored
// response) is a call of path (the escaped path after /v2.01/{ClientId}).
// Host, scheme, query, letter case, a trailing slash and the ClientId
// segment are ignored: Mangopay's own example reads
// https://api.mangopay.com/V2.01/clientId/users/natural. An empty
// RequestURL cannot be checked and is accepted.
func sameEndpoint(requestURL, path string) bool {
	if requestURL == "" {
		return true
	}
	u, err := url.Parse(requestURL)
	if err != nil {
		return false
	}
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	if len(segs) < 3 || !strings.EqualFold(segs[0], APIVersion) {
		return false
	}
	got := "/" + strings.Join(segs[2:], "/")
	return strings.EqualFold(got, "/"+strings.Trim(path, "/"))
}

// parseHTTPDate decodes an RFC 1123 date string; anything else yields the
// zero time.
func parseHTTPDate(raw json.RawMessage) time.Time {
	raw = bytes.TrimSpace(raw)
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return rawUnixTime(raw)
	}
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC1123, time.RFC1123Z, http.TimeFormat} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
