// Package notify sends kycflow's events to the platform as Standard Webhooks
// (https://www.standardwebhooks.com): a JSON POST to PLATFORM_WEBHOOK_URL of
// {"type", "timestamp", "data"}, with the headers webhook-id (the event's
// stable id, the same on every retry), webhook-timestamp (the attempt's
// time) and webhook-signature ("v1,<base64 HMAC-SHA256 of
// id.timestamp.body>", one per secret during a rotation). Any Standard
// Webhooks library verifies them with the secret in its whsec_ form.
//
// Send makes one attempt; retrying is the caller's (Temporal's) business,
// helped by the answer: a 410 Gone disables the endpoint (ErrGone), a
// Retry-After is returned in the StatusError.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/internal/spanurl"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// Header names of a notification, as the specification spells them.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix marks a notification secret: "whsec_" and the key in
// standard base64, the form every Standard Webhooks library takes.
const SecretPrefix = "whsec_"

// The key of a secret is 24 to 64 bytes (the specification's range).
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64
)

// Timeout is how long Send waits for the platform's answer when Notifier
// has no HTTP client (the specification recommends 15 to 30 s).
const Timeout = 15 * time.Second

// Event is the data of a notification. Field names are PascalCase like the
// rest of kycflow's API. It carries IDs and statuses only, never personal
// data.
type Event struct {
	ID     string `json:"Id"`
	Type   string `json:"Type"`
	UserID string `json:"UserId"`
	Status string `json:"Status"`
	// Reason says why the onboarding has its status (every final one has
	// one: what Mangopay decided, or who cancelled).
	Reason       string   `json:"Reason,omitempty"`
	Attempt      int      `json:"Attempt,omitempty"`
	IdvSessionID string   `json:"IdvSessionId,omitempty"`
	HostedURL    string   `json:"HostedUrl,omitempty"`
	ExpiresAt    string   `json:"ExpiresAt,omitempty"`
	Reasons      []string `json:"Reasons,omitempty"`
	DocumentID   string   `json:"KycDocumentId,omitempty"`
	// PscID names the PSC session of a psc.<status> event.
	PscID string `json:"PscId,omitempty"`
	// RenewalDeadline (RFC 3339) is when the user is downgraded unless
	// they renew their KYC (onboarding.renewal_reminder).
	RenewalDeadline string `json:"RenewalDeadline,omitempty"`
	// ScopeBlocked is what Mangopay blocks of the user's money flows, once
	// kycflow has read it (user.scope_blocked and status events after).
	ScopeBlocked *ScopeBlocked `json:"ScopeBlocked,omitempty"`
	OccurredAt   time.Time     `json:"OccurredAt"`
	// Entry is the timeline entry that caused this notification: the
	// platform's store keeps the durable copy of the audit trail.
	Entry *audit.Entry `json:"Entry,omitempty"`
}

// ScopeBlocked is Mangopay's regulatory ScopeBlocked: Inflows (pay-ins and
// incoming transfers) and Outflows (payouts and outgoing transfers)
// blocked, and the ActionCode that explains it.
type ScopeBlocked struct {
	Inflows    bool   `json:"Inflows"`
	Outflows   bool   `json:"Outflows"`
	ActionCode string `json:"ActionCode,omitempty"`
}

// Payload is the body of a notification, the specification's envelope:
// the event's type, when it occurred, and the event itself.
type Payload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      Event     `json:"data"`
}

// NewPayload wraps ev in its envelope.
func NewPayload(ev Event) Payload {
	return Payload{Type: ev.Type, Timestamp: ev.OccurredAt.UTC(), Data: ev}
}

// Notifier posts events. A zero URL disables it. A Notifier must not be
// copied once used: it remembers an endpoint that answered 410 Gone.
type Notifier struct {
	URL string
	// Secrets are the signing keys (ParseSecrets): each signs every
	// notification, so that a platform holding any of them verifies it
	// during a rotation.
	Secrets [][]byte
	HTTP    *http.Client
	// Now is the clock for signatures (tests); time.Now when nil.
	Now func() time.Time

	gone atomic.Bool
}

// Errors of Send and of the secrets.
var (
	// ErrNoSecret: notifications are never sent unsigned.
	ErrNoSecret = errors.New("notify: no signing secret configured")
	// ErrGone: the endpoint answered 410 Gone, or did before; this
	// Notifier sends nothing more to it (until the process restarts).
	ErrGone = errors.New("notify: the platform's endpoint answered 410 Gone: delivery to it is stopped")
	// ErrBadID: the event has no id, or one with a '.', which the
	// signature scheme does not allow.
	ErrBadID = errors.New("notify: an event id must be non-empty and have no '.'")
	// ErrBadSecret: a secret is not "whsec_" and a base64 key of 24 to
	// 64 bytes.
	ErrBadSecret = fmt.Errorf("notify: a secret must be %s<base64 of %d to %d random bytes>", SecretPrefix, MinSecretBytes, MaxSecretBytes)
)

// StatusError is a platform's answer other than 2xx: a failed delivery,
// to be retried (but see ErrGone). A 3xx is one too: redirects are never
// followed.
type StatusError struct {
	StatusCode int
	// RetryAfter is the platform's Retry-After, zero when it sent none (or
	// one in the past).
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("notify: platform answered status %d (retry after %s)", e.StatusCode, e.RetryAfter)
	}
	return fmt.Sprintf("notify: platform answered status %d", e.StatusCode)
}

// Is makes a 410 answer match ErrGone.
func (e *StatusError) Is(target error) bool {
	return target == ErrGone && e.StatusCode == http.StatusGone
}

// Enabled reports whether a URL is configured.
func (n *Notifier) Enabled() bool { return n != nil && n.URL != "" }

// Disabled reports whether the endpoint answered 410 Gone: Send no longer
// posts to it.
func (n *Notifier) Disabled() bool { return n != nil && n.gone.Load() }

// Send makes one delivery attempt of ev. Any 2xx is success; another
// answer is a *StatusError, a network error is returned as is: both are the
// caller's to retry. A 410 Gone (errors.Is ErrGone) disables the endpoint:
// Send then returns ErrGone without posting.
func (n *Notifier) Send(ctx context.Context, ev Event) error {
	if !n.Enabled() {
		return errors.New("notify: no platform webhook URL configured")
	}
	if len(n.Secrets) == 0 {
		return ErrNoSecret
	}
	if n.gone.Load() {
		return ErrGone
	}
	if ev.ID == "" || strings.Contains(ev.ID, ".") {
		return ErrBadID
	}
	body, err := json.Marshal(NewPayload(ev))
	if err != nil {
		return fmt.Errorf("notify: encode: %w", err)
	}
	now := time.Now
	if n.Now != nil {
		now = n.Now
	}
	at := now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify: request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	// Set the lower-case names as the specification writes them (Go would
	// canonicalize them; HTTP names are case-insensitive either way).
	req.Header[HeaderID] = []string{ev.ID}
	req.Header[HeaderTimestamp] = []string{strconv.FormatInt(at.Unix(), 10)}
	req.Header[HeaderSignature] = []string{Sign(n.Secrets, ev.ID, at, body)}
	hc := http.Client{Timeout: Timeout}
	if n.HTTP != nil {
		hc = *n.HTTP
	}
	// Redirects are never followed (the specification: update the URL
	// instead); a 3xx is a failed delivery.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	// A client span of the notification activity's trace; the platform
	// gets the trace context (traceparent) to join it.
	// spanurl: the span's url.full without IDs or a token of the URL.
	hc.Transport = otelhttp.NewTransport(spanurl.Transport(hc.Transport),
		otelhttp.WithSpanNameFormatter(func(string, *http.Request) string { return "notify platform" }))
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("notify: post: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return nil
	}
	if res.StatusCode == http.StatusGone {
		n.gone.Store(true)
	}
	return &StatusError{StatusCode: res.StatusCode, RetryAfter: RetryAfter(res.Header.Get("Retry-After"), at)}
}

// Sign returns the webhook-signature header of a notification: for each
// key, "v1,<base64 HMAC-SHA256(key, "<id>.<unix seconds of at>.<body>")>",
// space-separated.
func Sign(keys [][]byte, id string, at time.Time, body []byte) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	sigs := make([]string, 0, len(keys))
	for _, k := range keys {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(id))
		m.Write([]byte("."))
		m.Write([]byte(ts))
		m.Write([]byte("."))
		m.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	return strings.Join(sigs, " ")
}

// RetryAfter reads a Retry-After header, in seconds or as an HTTP date
// (compared with now). It is zero when absent, malformed or past.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 || s > int64(365*24*time.Hour/time.Second) {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// ParseSecrets reads PLATFORM_WEBHOOK_SECRET: one or more secrets, separated
// by spaces or commas, each "whsec_" and a standard base64 key of 24 to 64
// bytes. During a rotation every one signs.
func ParseSecrets(s string) ([][]byte, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	if len(fields) == 0 {
		return nil, ErrNoSecret
	}
	keys := make([][]byte, 0, len(fields))
	for i, f := range fields {
		enc, ok := strings.CutPrefix(f, SecretPrefix)
		if !ok {
			return nil, fmt.Errorf("secret %d of %d has no %s prefix: %w", i+1, len(fields), SecretPrefix, ErrBadSecret)
		}
		key, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return nil, fmt.Errorf("secret %d of %d is not standard base64: %w", i+1, len(fields), ErrBadSecret)
		}
		if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
			return nil, fmt.Errorf("secret %d of %d has %d bytes: %w", i+1, len(fields), len(key), ErrBadSecret)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// EncodeSecret is key in the whsec_ form.
func EncodeSecret(key []byte) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// NewSecret returns a new random secret (32 bytes) in the whsec_ form.
func NewSecret() string {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails (crypto/rand)
	return EncodeSecret(key)
}
