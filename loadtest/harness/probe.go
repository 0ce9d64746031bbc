package harness

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// SignupProbe is what new users met while signing up at a fixed rate: the
// time from POST /v1/onboardings to its HostedUrl (202 STARTING answers
// followed, as a platform would), the creation of the user at Mangopay
// not counted.
type SignupProbe struct {
	Sent     int           `json:"sent"`
	Failed   int           `json:"failed"`
	Duration time.Duration `json:"duration_ns"`
	Latency  Percentiles   `json:"signup_to_hosted_url"`
}

// SignupsUnderSweep compares the signups a platform's new users met during
// a sweep with the same signups on a quiet system.
type SignupsUnderSweep struct {
	Quiet SignupProbe `json:"quiet"`
	Sweep SignupProbe `json:"during_sweep"`
	// Ratio is the sweep's p99 over the quiet p99; Factor the goal's bound.
	Ratio  float64 `json:"p99_ratio"`
	Factor float64 `json:"goal_factor"`
	Met    bool    `json:"goal_met"`
	// Why the goal is not met, or cannot be judged.
	Why string `json:"why,omitempty"`
}

// compareSignups judges the sweep's signups against the quiet ones: met
// when every signup of both succeeded and the sweep's p99 is within factor
// times the quiet p99.
func compareSignups(quiet, sweep SignupProbe, factor float64) SignupsUnderSweep {
	c := SignupsUnderSweep{Quiet: quiet, Sweep: sweep, Factor: factor}
	switch {
	case quiet.Latency.Count == 0 || quiet.Latency.P99 <= 0:
		c.Why = "no quiet signup succeeded: nothing to compare with"
		return c
	case sweep.Latency.Count == 0:
		c.Why = "no signup succeeded during the sweep"
		return c
	}
	c.Ratio = float64(sweep.Latency.P99) / float64(quiet.Latency.P99)
	switch {
	case quiet.Failed+sweep.Failed > 0:
		c.Why = fmt.Sprintf("%d quiet and %d sweep signups failed", quiet.Failed, sweep.Failed)
	case c.Ratio > factor:
		c.Why = fmt.Sprintf("the sweep's p99 is %.2f× the quiet p99, above %.1f×", c.Ratio, factor)
	default:
		c.Met = true
	}
	return c
}

// probeSignups signs up a new user every 1/rate seconds (an open loop: a
// slow signup does not delay the next, as a platform's users do not wait
// for each other) until stop is closed, then waits for those under way.
// Users are numbered from first on, apart from the run's other users.
func probeSignups(ctx context.Context, d *driver, rate float64, first int, deadline time.Duration, stop <-chan struct{}) SignupProbe {
	var (
		mu    sync.Mutex
		p     SignupProbe
		took  []time.Duration
		wg    sync.WaitGroup
		began = time.Now()
	)
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	for i := first; ; i++ {
		wg.Add(1)
		p.Sent++
		go func() {
			defer wg.Done()
			until := fixed(time.Now().Add(deadline))
			u := &userRun{Index: i, Path: PathValidated}
			id, err := d.createUser(ctx, u, until)
			var start time.Time
			if err == nil {
				start = time.Now()
				_, err = d.ensure(ctx, id, "", until)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				p.Failed++
				return
			}
			took = append(took, time.Since(start))
		}()
		select {
		case <-ctx.Done():
		case <-stop:
		case <-t.C:
			continue
		}
		break
	}
	p.Duration = time.Since(began)
	wg.Wait()
	p.Latency = percentiles(took)
	return p
}
