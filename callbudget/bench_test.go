package callbudget_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/mangopay"
)

// benchBudget is scaled up from the production defaults so that a run
// takes seconds: the shape (burst, then the rate) is the same.
var benchBudget = callbudget.Config{CallsPerSecond: 100, Burst: 100, Share: 1}

// BenchmarkSignupBurst has two processes (workers) create 1,000 sessions at
// once, 64 at a time each, and reports the peak calls in any one second
// against the budget (burst + rate is the most a second can hold).
func BenchmarkSignupBurst(b *testing.B) {
	const signups = 1000
	for b.Loop() {
		name := redistest.Unique(b)
		var limiters []*callbudget.Limiter
		for range 2 {
			l, err := callbudget.New(redistest.New(b), name, benchBudget)
			if err != nil {
				b.Fatal(err)
			}
			limiters = append(limiters, l)
		}
		ctx := mangopay.WithPriority(context.Background(), mangopay.PriorityInteractive)
		var (
			mu     sync.Mutex
			grants []time.Time
			next   atomic.Int64
			wg     sync.WaitGroup
		)
		start := time.Now()
		for _, l := range limiters {
			for range 64 {
				wg.Go(func() {
					for next.Add(1) <= signups {
						if err := l.Wait(ctx, mangopay.Call{Method: "POST", Route: "/users/{UserId}/identity-verifications", Priority: mangopay.PriorityInteractive}); err != nil {
							b.Error(err)
							return
						}
						mu.Lock()
						grants = append(grants, time.Now())
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.ReportMetric(float64(peakPerSecond(grants)), "peak_calls/s")
		b.ReportMetric(float64(benchBudget.Burst)+benchBudget.CallsPerSecond, "max_allowed/s")
		b.ReportMetric(float64(len(grants))/elapsed.Seconds(), "mean_calls/s")
	}
}

// peakPerSecond is the most grants within any one-second window.
func peakPerSecond(ts []time.Time) int {
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	peak, lo := 0, 0
	for hi := range ts {
		for ts[hi].Sub(ts[lo]) >= time.Second {
			lo++
		}
		peak = max(peak, hi-lo+1)
	}
	return peak
}

// BenchmarkInteractiveUnderBackgroundBacklog keeps 32 background callers
// (a fleet reconciliation) drawing on the budget as fast as it allows, and
// times 100 interactive calls made meanwhile at a fifth of the rate. The
// "same priority" case shows what the priorities buy: interactive calls
// queued behind the backlog.
func BenchmarkInteractiveUnderBackgroundBacklog(b *testing.B) {
	for _, tc := range []struct {
		name    string
		backlog mangopay.Priority
	}{
		{"priorities", mangopay.PriorityBackground},
		{"same_priority", mangopay.PriorityInteractive},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				l, err := callbudget.New(redistest.New(b), redistest.Unique(b), benchBudget)
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				var wg sync.WaitGroup
				var background atomic.Int64
				bctx := mangopay.WithPriority(ctx, tc.backlog)
				for range 32 {
					wg.Go(func() {
						for l.Wait(bctx, mangopay.Call{Method: "GET", Route: "/events", Priority: tc.backlog}) == nil {
							background.Add(1)
						}
					})
				}
				time.Sleep(2 * time.Second) // the backlog drains the burst first
				ictx := mangopay.WithPriority(context.Background(), mangopay.PriorityInteractive)
				var lat []time.Duration
				for range 100 {
					t0 := time.Now()
					if err := l.Wait(ictx, mangopay.Call{Method: "POST", Route: "/users/{UserId}/identity-verifications", Priority: mangopay.PriorityInteractive}); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t0))
					time.Sleep(time.Duration(float64(time.Second) / (benchBudget.CallsPerSecond / 5)))
				}
				cancel()
				wg.Wait()
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
				b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max_ms")
				b.ReportMetric(float64(background.Load()), "background_calls")
			}
		})
	}
}
