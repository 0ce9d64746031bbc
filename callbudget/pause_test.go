package callbudget_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

// TestThePauseIsReadOnRedisClock checks that the pause after a 429 holds
// every process whatever its own clock says: it is compared against
// Redis's clock, as the GCRA is.
func TestThePauseIsReadOnRedisClock(t *testing.T) {
	exhausted := func(now time.Time) mangopay.RateLimits {
		return figures(now, [4]int{0, 4500, 8800, 105600}, [4]time.Duration{10 * time.Minute, 30 * time.Minute, time.Hour, 24 * time.Hour})
	}
	tests := []struct {
		name           string
		setter, waiter time.Duration // each process's clock skew
		limits         func(now time.Time) mangopay.RateLimits
	}{
		{name: "a waiter whose clock runs an hour ahead honours Mangopay's reset", waiter: time.Hour, limits: exhausted},
		{name: "a setter whose clock runs an hour ahead still pauses the others", setter: time.Hour, limits: exhausted},
		{name: "a setter whose clock runs an hour behind pauses the others without a reset",
			setter: -time.Hour, limits: func(time.Time) mangopay.RateLimits { return mangopay.RateLimits{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb, name := redistest.New(t), redistest.Unique(t)
			cfg := callbudget.Config{CallsPerSecond: 100, Burst: 100, Share: 1}
			setter, err := callbudget.New(rdb, name, cfg)
			require.NoError(t, err)
			waiter, err := callbudget.New(rdb, name, cfg)
			require.NoError(t, err)
			setter.SetClock(func() time.Time { return time.Now().Add(tt.setter) })
			waiter.SetClock(func() time.Time { return time.Now().Add(tt.waiter) })

			// Mangopay's figures carry its own clock: the real one here.
			setter.Done(mangopay.Call{Method: "GET", Route: "/users/{id}"}, 429, tt.limits(time.Now()))

			// A deadline well inside the shortest pause (Mangopay's
			// default minute): the waiter must answer at once that the
			// budget is exhausted. A deadline of a minute too would race
			// the pause's own minute, and the waiter would sleep it out.
			ctx, cancel := context.WithTimeout(mangopay.WithPriority(context.Background(), mangopay.PriorityInteractive), mangopay.DefaultRateLimitPause/2)
			defer cancel()
			err = waiter.Wait(ctx, mangopay.Call{Method: "GET", Route: "/users/{id}"})
			require.ErrorIs(t, err, mangopay.ErrBudgetExhausted, "the waiter honours the pause")
		})
	}
}

func TestTheResetOfEachWindowIsExported(t *testing.T) {
	sim, userID := startSim(t, sandbox.DefaultSettings())
	p := newProcess(t, sim, callbudget.DefaultConfig())
	_, err := p.client.GetUser(deadlineCtx(t, mangopay.PriorityInteractive), userID)
	require.NoError(t, err)
	for i, w := range p.client.RateLimits().Windows {
		label := []string{"15m", "30m", "1h", "24h"}[i]
		assert.Equal(t, float64(w.Reset.Unix()), gaugeValue(t, p.reg, callbudget.MetricReset, label), label)
	}
}
