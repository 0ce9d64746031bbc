package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RateLimitWindows are Mangopay's four rate-limit windows, in the order of
// the comma-separated values of the X-RateLimit* headers.
var RateLimitWindows = [4]time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 24 * time.Hour}

// rateWindows counts calls per window. Mangopay describes a sliding leaky
// bucket; fixed windows give the same headers and the same 429s at the
// simulator's scale.
type rateWindows struct {
	start [4]time.Time
	made  [4]int
}

// writeRateLimitHeaders counts the call and sets X-RateLimit,
// X-RateLimit-Remaining and X-RateLimit-Reset, as on every Mangopay response.
func (s *Sandbox) writeRateLimitHeaders(w http.ResponseWriter, now time.Time) {
	s.mu.Lock()
	limits := s.settings.RateLimits
	var made, remaining, reset [4]string
	for i, d := range RateLimitWindows {
		if s.limits.start[i].IsZero() || !now.Before(s.limits.start[i].Add(d)) {
			s.limits.start[i], s.limits.made[i] = now, 0
		}
		s.limits.made[i]++
		made[i] = strconv.Itoa(s.limits.made[i])
		remaining[i] = strconv.Itoa(max(limits[i]-s.limits.made[i], 0))
		reset[i] = strconv.FormatInt(s.limits.start[i].Add(d).Unix(), 10)
	}
	s.mu.Unlock()
	h := w.Header()
	// Set directly to keep Mangopay's spelling (Go would canonicalise it to
	// X-Ratelimit); header names are case-insensitive either way.
	h["X-RateLimit"] = []string{strings.Join(made[:], ", ")}
	h["X-RateLimit-Remaining"] = []string{strings.Join(remaining[:], ", ")}
	h["X-RateLimit-Reset"] = []string{strings.Join(reset[:], ", ")}
}

// exhausted reports whether the current call went over a window's limit and
// limits are enforced.
func (s *Sandbox) exhausted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.settings.RateLimitEnforced {
		return false
	}
	for i := range RateLimitWindows {
		if s.limits.made[i] > s.settings.RateLimits[i] {
			return true
		}
	}
	return false
}
