package mangopay

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate-limit response headers. Each carries four comma-separated values,
// one per window (15 min, 30 min, 60 min, 24 h), possibly split over repeated lines.
const (
	headerRateLimit          = "X-RateLimit"
	headerRateLimitRemaining = "X-RateLimit-Remaining"
	headerRateLimitReset     = "X-RateLimit-Reset"
)

// rateLimitWindows are the durations of Mangopay's four rate-limit windows,
// in the order the headers list them.
var rateLimitWindows = [4]time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 24 * time.Hour}

// RateLimitWindow is the state of one rate-limit window.
type RateLimitWindow struct {
	// Window is the length of the window.
	Window time.Duration
	// Made is the number of calls made in the window (X-RateLimit).
	Made int
	// Remaining is the number of calls left in the window
	// (X-RateLimit-Remaining).
	Remaining int
	// Reset is when the window resets (X-RateLimit-Reset); zero if unknown.
	Reset time.Time
}

// RateLimits is the latest rate-limit state reported by Mangopay.
type RateLimits struct {
	// Windows holds the 15 min, 30 min, 60 min and 24 h windows, in order.
	Windows [4]RateLimitWindow
	// ObservedAt is when the figures were received; zero if no response
	// carried valid rate-limit headers yet.
	ObservedAt time.Time
}

// Tightest returns the window with the fewest remaining calls. It reports
// false when no figures have been observed.
func (r RateLimits) Tightest() (RateLimitWindow, bool) {
	if r.ObservedAt.IsZero() {
		return RateLimitWindow{}, false
	}
	best := r.Windows[0]
	for _, w := range r.Windows[1:] {
		if w.Remaining < best.Remaining {
			best = w
		}
	}
	return best, true
}

// Exhausted returns the window with no call left (the one that resets last
// if several are). It reports false when none is exhausted or no figures
// have been observed.
func (r RateLimits) Exhausted() (RateLimitWindow, bool) {
	var out RateLimitWindow
	found := false
	if r.ObservedAt.IsZero() {
		return out, false
	}
	for _, w := range r.Windows {
		if w.Remaining > 0 || w.Reset.IsZero() {
			continue
		}
		if !found || w.Reset.After(out.Reset) {
			out, found = w, true
		}
	}
	return out, found
}

// RateLimits returns the rate-limit figures of the latest response that
// carried them. It is safe for concurrent use.
func (c *Client) RateLimits() RateLimits {
	return c.limits.get()
}

// rateLimitRecorder keeps the latest RateLimits.
type rateLimitRecorder struct {
	mu  sync.Mutex
	cur RateLimits
}

// newRateLimitRecorder returns a recorder with the window lengths filled in.
func newRateLimitRecorder() *rateLimitRecorder {
	r := &rateLimitRecorder{}
	for i, d := range rateLimitWindows {
		r.cur.Windows[i].Window = d
	}
	return r
}

// get returns a copy of the current figures.
func (r *rateLimitRecorder) get() RateLimits {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}

// observe records the rate-limit headers of h. Each header is applied only
// if it holds exactly four integers; malformed headers are ignored.
func (r *rateLimitRecorder) observe(h http.Header, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	applyRateLimitHeaders(&r.cur, h, now)
}

// parseRateLimits returns the figures of one response's headers and
// reports whether it carried any.
func parseRateLimits(h http.Header, now time.Time) (RateLimits, bool) {
	var l RateLimits
	for i, d := range rateLimitWindows {
		l.Windows[i].Window = d
	}
	return l, applyRateLimitHeaders(&l, h, now)
}

// applyRateLimitHeaders writes the well-formed rate-limit headers of h into
// l and reports whether there was any.
func applyRateLimitHeaders(l *RateLimits, h http.Header, now time.Time) bool {
	made, okMade := parseRateLimitHeader(h, headerRateLimit)
	remaining, okRemaining := parseRateLimitHeader(h, headerRateLimitRemaining)
	reset, okReset := parseRateLimitHeader(h, headerRateLimitReset)
	if !okMade && !okRemaining && !okReset {
		return false
	}
	for i := range l.Windows {
		w := &l.Windows[i]
		if okMade {
			w.Made = int(made[i])
		}
		if okRemaining {
			w.Remaining = int(remaining[i])
		}
		if okReset {
			w.Reset = time.Unix(reset[i], 0).UTC()
		}
	}
	l.ObservedAt = now
	return true
}

// parseRateLimitHeader collects the comma-separated integers of every line
// of header name and reports whether there are exactly four.
func parseRateLimitHeader(h http.Header, name string) ([4]int64, bool) {
	var out [4]int64
	n := 0
	for _, line := range h.Values(name) {
		for _, part := range strings.Split(line, ",") {
			part = strings.TrimSpace(part)
			if part == "" || n == len(out) {
				return out, false
			}
			v, err := strconv.ParseInt(part, 10, 64)
			if err != nil {
				return out, false
			}
			out[n] = v
			n++
		}
	}
	return out, n == len(out)
}

// observingTransport records rate-limit headers of every response,
// including the token endpoint's, and sets the User-Agent where missing.
type observingTransport struct {
	base   http.RoundTripper
	limits *rateLimitRecorder
	// send is base traced (otelhttp); nil sends through base.
	send http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *observingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", UserAgent)
	}
	send := t.send
	if send == nil {
		send = t.base
	}
	res, err := send.RoundTrip(req)
	if err == nil {
		t.limits.observe(res.Header, time.Now())
	}
	return res, err
}

// CloseIdleConnections forwards to the base transport so that
// http.Client.CloseIdleConnections keeps working.
func (t *observingTransport) CloseIdleConnections() {
	type closeIdler interface{ CloseIdleConnections() }
	if ci, ok := t.base.(closeIdler); ok {
		ci.CloseIdleConnections()
	}
}
