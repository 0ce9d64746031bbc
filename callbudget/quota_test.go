package callbudget_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/mangopay"
)

// TestTheShareIsAQuotaOfEachWindow spends, second by second over two days,
// whatever the budget allows against Mangopay's four windows (each whole
// again at its reset, the platform spending nothing), and checks that
// kycflow never takes more than its share of any window.
func TestTheShareIsAQuotaOfEachWindow(t *testing.T) {
	for _, share := range []float64{0.1, 0.25, 0.5} {
		cfg := callbudget.DefaultConfig()
		cfg.Share = share
		start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
		var (
			remaining [4]float64
			reset     [4]time.Time
			worst     [4]float64 // the largest share of a window kycflow spent
		)
		for i, d := range callbudget.DocumentedLimits {
			remaining[i], reset[i] = float64(d.Calls), start.Add(d.Window)
		}
		for now := start; now.Before(start.Add(48 * time.Hour)); now = now.Add(time.Second) {
			seen := mangopay.RateLimits{ObservedAt: now}
			for i, d := range callbudget.DocumentedLimits {
				if !now.Before(reset[i]) {
					remaining[i], reset[i] = float64(d.Calls), reset[i].Add(d.Window)
				}
				seen.Windows[i] = mangopay.RateLimitWindow{Window: d.Window, Remaining: int(remaining[i]),
					Made: d.Calls - int(remaining[i]), Reset: reset[i]}
			}
			spend := cfg.Rate(seen, now) // calls in this second
			for i, d := range callbudget.DocumentedLimits {
				remaining[i] -= spend
				worst[i] = max(worst[i], 1-remaining[i]/float64(d.Calls))
			}
		}
		for i, d := range callbudget.DocumentedLimits {
			assert.LessOrEqualf(t, worst[i], share+0.001, "share %v: kycflow spent %.1f%% of the %v window", share, 100*worst[i], d.Window)
		}
	}
}

func TestTheBurstIsCappedByWhatIsLeft(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	full := [4]time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 24 * time.Hour}
	cfg := callbudget.DefaultConfig()
	tests := []struct {
		name string
		seen mangopay.RateLimits
		want int
	}{
		{name: "before the first answer: the configured burst", seen: mangopay.RateLimits{}, want: 300},
		{name: "fresh windows: the configured burst", seen: figures(now, [4]int{2300, 4500, 8800, 105600}, full), want: 300},
		{name: "the share of the least remaining", seen: figures(now, [4]int{400, 4500, 8800, 105600}, full), want: 100},
		{name: "a window nearly spent", seen: figures(now, [4]int{10, 4500, 8800, 105600}, full), want: 2},
		{name: "an exhausted window: still one", seen: figures(now, [4]int{0, 4500, 8800, 105600}, full), want: 1},
		{name: "a reset past: the window is whole", seen: figures(now, [4]int{0, 4500, 8800, 105600},
			[4]time.Duration{-time.Second, 30 * time.Minute, time.Hour, 24 * time.Hour}), want: 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, cfg.MaxBurst(tt.seen, now))
		})
	}
}

func TestANearlySpentWindowAdmitsNoBurst(t *testing.T) {
	// 10 calls of 2,300 left in the 15-minute window, reset in 10 minutes:
	// a quarter of them may go at once, then one call every minute or
	// more, beyond the calls' deadline.
	nearlySpent := func(l *callbudget.Limiter) {
		now := time.Now()
		l.Done(mangopay.Call{Method: "GET", Route: "/users/{id}"}, 200,
			figures(now, [4]int{10, 4500, 8800, 105600}, [4]time.Duration{10 * time.Minute, 30 * time.Minute, time.Hour, 24 * time.Hour}))
	}
	t.Run("without the reserve: the burst is the share of what is left", func(t *testing.T) {
		cfg := callbudget.DefaultConfig()
		cfg.Reserve = 0
		l, err := callbudget.New(redistest.New(t), redistest.Unique(t), cfg)
		require.NoError(t, err)
		nearlySpent(l)
		assert.Equal(t, 2, grants(t, l, mangopay.PriorityInteractive, 150))
		assert.Equal(t, 0, grants(t, l, mangopay.PriorityWebhook, 10))
		assert.Equal(t, 1, grants(t, l, mangopay.PriorityBackground, 10), "the background lane's one call")
	})
	t.Run("the defaults: under the reserve a call costs two", func(t *testing.T) {
		l, err := callbudget.New(redistest.New(t), redistest.Unique(t), callbudget.DefaultConfig())
		require.NoError(t, err)
		nearlySpent(l)
		assert.Equal(t, 1, grants(t, l, mangopay.PriorityInteractive, 150))
	})
}
