package workflows_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/simtest"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/workflows"
)

// rateLimitWatch admits every call and watches the 429s: how many, and
// whether a call went out before the reset a 429 announced (in Mangopay's
// clock, which the harness keeps level with the workflow's).
type rateLimitWatch struct {
	mu      sync.Mutex
	now     func() time.Time
	until   time.Time
	got429  int
	tooSoon int
}

func (w *rateLimitWatch) Wait(context.Context, mangopay.Call) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.now().Before(w.until) {
		w.tooSoon++
	}
	return nil
}

func (w *rateLimitWatch) Done(_ mangopay.Call, status int, l mangopay.RateLimits) {
	if status != http.StatusTooManyRequests {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got429++
	if ex, ok := l.Exhausted(); ok {
		w.until = ex.Reset
	}
}

// A 429 storm: Mangopay's 15-minute window holds two calls, and it is spent
// before the onboarding starts. Every activity waits for the window's reset
// (Temporal's NextRetryDelay), never retries sooner, and the onboarding
// reaches VERIFIED.
func TestA429StormWaitsForTheResetsAndFinishes(t *testing.T) {
	h := newHarness(t, "NATURAL")
	set := simtest.FastSettings()
	set.RateLimitEnforced = true
	set.RateLimits = [4]int{2, 4500, 8800, 105600}
	require.NoError(t, h.sim.SetSettings(set))
	watch := &rateLimitWatch{now: h.sim.Now}
	mp, err := mangopay.New(mangopay.Config{BaseURL: h.simURL, ClientID: h.sim.ClientID(), APIKey: sandbox.DefaultAPIKey, Limiter: watch})
	require.NoError(t, err)
	h.acts.Mangopay = mp
	h.acts.Now = h.sim.Now

	started := h.ensure(0, workflows.EnsureSessionRequest{})
	// The user completes the page once the session exists.
	decided := false
	for hour := 1; hour <= 48; hour++ {
		h.at(time.Duration(hour)*time.Hour, func() {
			if !decided && h.state().IdvSessionID != "" {
				h.decide(validated)
				h.deliver()
				decided = true
			}
		})
	}
	var v workflows.StateView
	h.at(72*time.Hour, func() { v = h.state() })
	h.cancel(73 * time.Hour)
	h.run(workflows.Config{})

	require.True(t, started.done, "ensure-session answered")
	require.NoError(t, started.err)
	assert.Equal(t, workflows.StatusVerified, v.Status)
	assert.Positive(t, watch.got429, "the storm happened")
	assert.Zero(t, watch.tooSoon, "no call before the reset a 429 announced")
	assert.LessOrEqual(t, watch.got429, 6, "one 429 per spent window, not a retry every few seconds")
}
