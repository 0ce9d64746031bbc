// Package notify sends kycflow's events to the platform: a JSON POST to
// PLATFORM_WEBHOOK_URL signed with HMAC-SHA256 over "<timestamp>.<raw body>",
// with a stable event id so that the platform can drop the duplicates that
// Temporal's retries may cause. Verify is the platform-side check.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of a notification.
const (
	SignatureHeader = "Kycflow-Signature"
	EventIDHeader   = "Kycflow-Event-Id"
)

// DefaultTolerance is how old a signature Verify accepts.
const DefaultTolerance = 5 * time.Minute

// Event is what the platform receives. Field names are PascalCase like the
// rest of kycflow's API. It carries IDs and statuses only, never personal data.
type Event struct {
	ID           string   `json:"Id"`
	Type         string   `json:"Type"`
	UserID       string   `json:"UserId"`
	Status       string   `json:"Status"`
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
}

// ScopeBlocked is Mangopay's regulatory ScopeBlocked: Inflows (pay-ins and
// incoming transfers) and Outflows (payouts and outgoing transfers)
// blocked, and the ActionCode that explains it.
type ScopeBlocked struct {
	Inflows    bool   `json:"Inflows"`
	Outflows   bool   `json:"Outflows"`
	ActionCode string `json:"ActionCode,omitempty"`
}

// Notifier posts events. A zero URL disables it.
type Notifier struct {
	URL    string
	Secret []byte
	HTTP   *http.Client
	// Now is the clock for signatures (tests); time.Now when nil.
	Now func() time.Time
}

// ErrNoSecret is returned by Send and Verify without a signing secret:
// notifications are never sent or accepted unsigned.
var ErrNoSecret = errors.New("notify: no signing secret configured")

// ErrRejected is wrapped by Send when the platform answers 4xx: a retry
// would get the same answer.
var ErrRejected = errors.New("notify: platform rejected the event")

// Enabled reports whether a URL is configured.
func (n *Notifier) Enabled() bool { return n != nil && n.URL != "" }

// Send posts ev. Any 2xx is success; 4xx wraps ErrRejected; 5xx and network
// errors are returned for the caller (Temporal) to retry.
func (n *Notifier) Send(ctx context.Context, ev Event) error {
	if !n.Enabled() {
		return errors.New("notify: no platform webhook URL configured")
	}
	if len(n.Secret) == 0 {
		return ErrNoSecret
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("notify: encode: %w", err)
	}
	now := time.Now
	if n.Now != nil {
		now = n.Now
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify: request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(EventIDHeader, ev.ID)
	req.Header.Set(SignatureHeader, Sign(n.Secret, now(), body))
	hc := http.Client{Timeout: 10 * time.Second}
	if n.HTTP != nil {
		hc = *n.HTTP
	}
	// A redirect would turn the signed POST into a GET without a body: the
	// platform has not accepted the event, so it is a (retryable) failure.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("notify: post: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return nil
	case res.StatusCode >= 400 && res.StatusCode < 500 && res.StatusCode != http.StatusTooManyRequests:
		return fmt.Errorf("%w: status %d", ErrRejected, res.StatusCode)
	default:
		return fmt.Errorf("notify: platform answered status %d", res.StatusCode)
	}
}

// Sign returns the signature header value for body at time t:
// "t=<unix>,v1=<hex HMAC-SHA256(secret, "<unix>.<body>")>".
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Errors returned by Verify.
var (
	ErrNoSignature  = errors.New("notify: missing or malformed signature header")
	ErrBadSignature = errors.New("notify: signature does not match")
	ErrTooOld       = errors.New("notify: signature timestamp outside tolerance")
)

// Verify checks a notification's signature header against its raw body, as
// a platform receiving kycflow's events should. Several v1 entries are
// accepted so that secrets can be rotated.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if len(secret) == 0 {
		return ErrNoSecret
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrTooOld
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}
