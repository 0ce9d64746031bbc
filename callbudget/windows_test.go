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

// figures builds Mangopay's four windows as the headers report them:
// remaining calls and seconds to the reset of each.
func figures(now time.Time, remaining [4]int, resetIn [4]time.Duration) mangopay.RateLimits {
	l := mangopay.RateLimits{ObservedAt: now}
	for i, d := range callbudget.DocumentedLimits {
		l.Windows[i] = mangopay.RateLimitWindow{Window: d.Window, Remaining: remaining[i], Made: d.Calls - remaining[i], Reset: now.Add(resetIn[i])}
	}
	return l
}

func TestRateIsTheShareOfWhatIsLeft(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	full := [4]time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 24 * time.Hour}
	cfg := callbudget.DefaultConfig()
	tests := []struct {
		name string
		cfg  callbudget.Config
		seen mangopay.RateLimits
		want float64
	}{
		{name: "before the first answer: the share of the documented day limit", cfg: cfg, seen: mangopay.RateLimits{},
			want: 0.25 * 105600 / 86400},
		{name: "every reset past: the share of the last seen limits, not the upper bound", cfg: cfg,
			seen: figures(now, [4]int{0, 0, 0, 0}, [4]time.Duration{-time.Second, -time.Second, -time.Second, -time.Second}),
			want: 0.25 * 105600 / 86400},
		{name: "fresh windows: the day binds", cfg: cfg, seen: figures(now, [4]int{2300, 4500, 8800, 105600}, full),
			want: 0.25 * 105600 / 86400},
		{name: "the share is a quota: a day window about to reset with calls to spare does not raise it", cfg: cfg,
			seen: figures(now, [4]int{2300, 4500, 8800, 50000}, [4]time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour}),
			want: 0.25 * 105600 / 86400},
		{name: "a window nearly spent slows it down to what is left", cfg: cfg, seen: figures(now, [4]int{90, 4500, 8800, 105600}, full),
			want: 90.0 / 900},
		{name: "the fixed rate stays an upper bound", cfg: callbudget.Config{CallsPerSecond: 0.1, Share: 1},
			seen: figures(now, [4]int{2300, 4500, 8800, 105600}, full), want: 0.1},
		{name: "the fixed rate bounds the rate before the first answer", cfg: callbudget.Config{CallsPerSecond: 0.1, Share: 1},
			seen: mangopay.RateLimits{}, want: 0.1},
		{name: "a reset already past leaves its window whole", cfg: cfg,
			seen: figures(now, [4]int{0, 4500, 8800, 105600}, [4]time.Duration{-time.Second, 30 * time.Minute, time.Hour, 24 * time.Hour}),
			want: 0.25 * 105600 / 86400},
		{name: "a reset beyond its window's length counts as the length", cfg: callbudget.Config{CallsPerSecond: 5, Share: 1},
			seen: figures(now, [4]int{900, 4500, 8800, 105600}, [4]time.Duration{time.Hour, 30 * time.Minute, time.Hour, 24 * time.Hour}),
			want: 900.0 / 900},
		{name: "an exhausted window: one call an hour, not none", cfg: cfg, seen: figures(now, [4]int{0, 4500, 8800, 105600}, full),
			want: 1.0 / 3600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, tt.cfg.Rate(tt.seen, now), 1e-9)
		})
	}
}

// grants counts how many of tries calls the budget admits before a deadline
// shorter than the wait it would need.
func grants(t *testing.T, l *callbudget.Limiter, p mangopay.Priority, tries int) int {
	t.Helper()
	n := 0
	for range tries {
		err := l.Wait(deadlineCtx(t, p), mangopay.Call{Method: "GET", Route: "/events", Priority: p})
		if err == nil {
			n++
			continue
		}
		require.ErrorIs(t, err, mangopay.ErrBudgetExhausted)
	}
	return n
}

func TestTheWindowsMangopayReportsBindBelowTheFixedRate(t *testing.T) {
	set := sandbox.DefaultSettings()
	set.RateLimits = [4]int{100, 4500, 8800, 105600}
	sim, userID := startSim(t, set)
	// A fixed rate of 1,000/s would admit every call at once; a fiftieth of
	// the ~97 calls left in 15 minutes is one call every ~7 minutes, far
	// beyond the calls' one-minute deadline.
	p := newProcess(t, sim, callbudget.Config{CallsPerSecond: 1000, Burst: 2, Share: 0.02})
	_, err := p.client.GetUser(deadlineCtx(t, mangopay.PriorityInteractive), userID)
	require.NoError(t, err)
	seen := p.client.RateLimits()
	now := time.Now()
	assert.InEpsilon(t, 0.02*float64(seen.Windows[0].Remaining)/seen.Windows[0].Reset.Sub(now).Seconds(), p.budget.Rate(now), 0.05)
	assert.InEpsilon(t, p.budget.Rate(now), gaugeValue(t, p.reg, callbudget.MetricRate, ""), 0.05, "the rate is exported")

	assert.LessOrEqual(t, grants(t, p.budget, mangopay.PriorityInteractive, 10), 2, "the burst, then a wait beyond the deadline")
}

func TestBackgroundKeepsItsLaneWhenTheBurstIsSpent(t *testing.T) {
	l, err := callbudget.New(redistest.New(t), redistest.Unique(t),
		callbudget.Config{CallsPerSecond: minRate, Burst: 40, Share: 1, BackgroundShare: 0.25})
	require.NoError(t, err)
	// Interactive calls spend the main lane's whole burst; the
	// reconciliation still has its lane's (a quarter of 40).
	assert.Equal(t, 40, grants(t, l, mangopay.PriorityInteractive, 50))
	assert.Equal(t, 10, grants(t, l, mangopay.PriorityBackground, 20))
	assert.Equal(t, 0, grants(t, l, mangopay.PriorityInteractive, 5), "the lane is not the interactive calls'")
}

func TestBelowTheReserveBackgroundKeepsItsLane(t *testing.T) {
	set := sandbox.DefaultSettings()
	set.RateLimits = [4]int{100, 4500, 8800, 105600}
	sim, userID := startSim(t, set)
	p := newProcess(t, sim, callbudget.Config{CallsPerSecond: minRate, Burst: 40, Reserve: 0.5, Share: 1, BackgroundShare: 0.25})
	// The platform's own traffic spends 55 calls; kycflow's call reads the
	// figures.
	for range 55 {
		_, _, err := sim.Client.ListEvents(context.Background(), nil)
		require.NoError(t, err)
	}
	_, err := p.client.GetUser(deadlineCtx(t, mangopay.PriorityInteractive), userID)
	require.NoError(t, err)
	require.Less(t, p.client.RateLimits().Windows[0].Remaining, 50, "under half the 15-minute window is left")
	require.Greater(t, p.client.RateLimits().Windows[0].Remaining, 40, "more than the burst")

	// Without the lane background calls would wait for the window's reset;
	// with it they keep their quarter of the burst.
	assert.Equal(t, 10, grants(t, p.budget, mangopay.PriorityBackground, 20))
}

func TestNearTheLimitsBackgroundKeepsWhatTheReconciliationNeeds(t *testing.T) {
	set := sandbox.DefaultSettings()
	set.RateLimits = [4]int{400, 4500, 8800, 105600}
	sim, userID := startSim(t, set)
	// A tenth of a quarter of 400 calls in 15 minutes is far under one call
	// a minute: the floor keeps a call every 5 s, which the ~190 calls left
	// until the reset allow.
	p := newProcess(t, sim, callbudget.Config{CallsPerSecond: 10, Burst: 10, Reserve: 0.5, Share: 0.25, BackgroundShare: 0.1})
	p.budget.KeepForBackground(0.2)
	// The platform's own traffic spends the window (a client outside the
	// budget); kycflow's one call reads the figures.
	for range 210 {
		_, _, err := sim.Client.ListEvents(context.Background(), nil)
		require.NoError(t, err)
	}
	_, err := p.client.GetUser(deadlineCtx(t, mangopay.PriorityInteractive), userID)
	require.NoError(t, err)
	require.Less(t, p.client.RateLimits().Windows[0].Remaining, 200, "under the reserve")

	// The lane's burst (1), then a call every 5 s: the next one waits about
	// 5 s, not for the window's reset.
	ctx := deadlineCtx(t, mangopay.PriorityBackground)
	require.NoError(t, p.budget.Wait(ctx, mangopay.Call{Priority: mangopay.PriorityBackground}))
	short, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, p.budget.Wait(short, mangopay.Call{Priority: mangopay.PriorityBackground}))
}

func TestTheBackgroundFloorSpendsNothingAWindowHasNot(t *testing.T) {
	l, err := callbudget.New(redistest.New(t), redistest.Unique(t), callbudget.DefaultConfig())
	require.NoError(t, err)
	l.KeepForBackground(0.5)
	// The 15-minute window is used up until its reset in 10 minutes: the
	// lane's one call, then nothing, not a call every 2 s.
	l.Done(mangopay.Call{Method: "GET", Route: "/events"}, 200,
		figures(time.Now(), [4]int{0, 4500, 8800, 105600}, [4]time.Duration{10 * time.Minute, 30 * time.Minute, time.Hour, 24 * time.Hour}))
	assert.Equal(t, 1, grants(t, l, mangopay.PriorityBackground, 3))
}
