// Package callbudget is the one Mangopay call budget that every kycflow
// process draws from (workers, bridges, the hooks command, the fleet
// reconciler, on any number of machines): a GCRA limiter kept in Redis
// (github.com/go-redis/redis_rate) behind the mangopay.Limiter interface.
//
// Mangopay counts calls per ClientId in four windows shared with the
// platform's payments, so the budget is keyed by ClientId. Priorities share
// it by depth: interactive calls may use the whole burst, webhook reads half
// of it, background reconciliation a quarter, so a background backlog never
// holds the budget an interactive call needs. Mangopay's own figures rule
// over the configured rate: below the reserve in any window every call costs
// double and background calls wait for that window's reset; after a 429
// every process waits for the exhausted window's reset.
package callbudget

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/kycflow/kycflow/mangopay"
)

// Defaults: a quarter of each of Mangopay's windows (2,300/15 min,
// 4,500/30 min, 8,800/h, 105,600/day), the rest being the platform's. At
// 0.3 calls/s with a burst of 300 kycflow makes at most 300+270=570 calls in
// 15 min (575 is a quarter), 840 in 30 min, 1,380 in an hour and 26,220 in a
// day (26,400 is a quarter): the day window is the binding one.
const (
	DefaultCallsPerSecond = 0.3
	DefaultBurst          = 300
	// DefaultReserve: slow down once less than a quarter of any window is
	// left to the account as a whole.
	DefaultReserve = 0.25
)

// Environment variables.
const (
	EnvCallsPerSecond = "MANGOPAY_MAX_CALLS_PER_SECOND"
	EnvBurst          = "MANGOPAY_MAX_BURST"
	EnvReserve        = "MANGOPAY_RATE_RESERVE"
)

// keyPrefix prefixes the Redis keys of the budget; the ClientId follows.
const keyPrefix = "kycflow:mangopay-budget:"

// ratePeriod is the period the rate is expressed over in Redis, fine enough
// for fractional rates (0.3/s is 1,080 per hour).
const ratePeriod = time.Hour

// Config is the budget.
type Config struct {
	// CallsPerSecond is the sustained rate of every process together.
	CallsPerSecond float64
	// Burst is how many calls may go at once after a quiet period.
	Burst int
	// Reserve is the share of each Mangopay window (0 to 1) kept for the
	// platform's other traffic: below it kycflow slows down.
	Reserve float64
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{CallsPerSecond: DefaultCallsPerSecond, Burst: DefaultBurst, Reserve: DefaultReserve}
}

// ConfigFromEnv reads MANGOPAY_MAX_CALLS_PER_SECOND, MANGOPAY_MAX_BURST and
// MANGOPAY_RATE_RESERVE; unset variables take the defaults.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	var errs []error
	if v := strings.TrimSpace(getenv(EnvCallsPerSecond)); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not a number", EnvCallsPerSecond, v))
		} else {
			c.CallsPerSecond = f
		}
	}
	if v := strings.TrimSpace(getenv(EnvBurst)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not an integer", EnvBurst, v))
		} else {
			c.Burst = n
		}
	}
	if v := strings.TrimSpace(getenv(EnvReserve)); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not a number", EnvReserve, v))
		} else {
			c.Reserve = f
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, c.Validate()
}

// Validate reports unusable values.
func (c Config) Validate() error {
	var errs []error
	if math.IsNaN(c.CallsPerSecond) || c.CallsPerSecond*float64(ratePeriod/time.Second) < 1 || c.CallsPerSecond > 1000 {
		errs = append(errs, fmt.Errorf("%s must be between 1/3600 and 1000 calls per second, got %v", EnvCallsPerSecond, c.CallsPerSecond))
	}
	if c.Burst < 1 || c.Burst > 100_000 {
		errs = append(errs, fmt.Errorf("%s must be between 1 and 100000, got %d", EnvBurst, c.Burst))
	}
	if math.IsNaN(c.Reserve) || c.Reserve < 0 || c.Reserve >= 1 {
		errs = append(errs, fmt.Errorf("%s must be a share in [0, 1), got %v", EnvReserve, c.Reserve))
	}
	return errors.Join(errs...)
}

// limit is the GCRA limit of priority p: the same rate for all (so they
// share one schedule in Redis), a burst that shrinks with the priority.
func (c Config) limit(p mangopay.Priority) redis_rate.Limit {
	burst := c.Burst
	switch p {
	case mangopay.PriorityInteractive:
	case mangopay.PriorityWebhook:
		burst = c.Burst / 2
	default:
		burst = c.Burst / 4
	}
	return redis_rate.Limit{
		Rate:   int(math.Round(c.CallsPerSecond * float64(ratePeriod/time.Second))),
		Period: ratePeriod,
		Burst:  max(burst, 1),
	}
}

// Limiter is the shared budget. It implements mangopay.Limiter.
type Limiter struct {
	rl       *redis_rate.Limiter
	rdb      redis.UniversalClient
	cfg      Config
	key      string
	pauseKey string
	metrics  atomic.Pointer[Metrics]

	mu   sync.Mutex
	seen mangopay.RateLimits // the latest figures Mangopay sent this process

	now func() time.Time
}

var _ mangopay.Limiter = (*Limiter)(nil)

// New returns the budget named name (the Mangopay ClientId: Mangopay counts
// calls per ClientId) in rdb.
func New(rdb redis.UniversalClient, name string, cfg Config) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" {
		return nil, errors.New("callbudget: a budget name (the Mangopay ClientId) is required")
	}
	return &Limiter{
		rl: redis_rate.NewLimiter(rdb), rdb: rdb, cfg: cfg,
		key: keyPrefix + name, pauseKey: keyPrefix + name + ":paused-until",
		now: time.Now,
	}, nil
}

// RegisterMetrics registers the budget's metrics on reg; until then it
// records none. Register once per registry.
func (l *Limiter) RegisterMetrics(reg prometheus.Registerer) error {
	m, err := newMetrics(reg)
	if err != nil {
		return fmt.Errorf("mangopay call budget metrics: %w", err)
	}
	l.metrics.Store(m)
	return nil
}

// Config returns the budget's configuration.
func (l *Limiter) Config() Config { return l.cfg }

// Wait blocks until call may be sent (see mangopay.Limiter).
func (l *Limiter) Wait(ctx context.Context, call mangopay.Call) error {
	start := l.now()
	err := l.wait(ctx, call)
	l.metrics.Load().waited(call.Priority, l.now().Sub(start))
	return err
}

func (l *Limiter) wait(ctx context.Context, call mangopay.Call) error {
	for {
		now := l.now()
		until, err := l.pausedUntil(ctx)
		if err != nil {
			return err
		}
		if until.After(now) {
			if err := l.sleepUntil(ctx, until); err != nil {
				return err
			}
			continue
		}
		cost := 1
		if w, low := l.belowReserve(now); low {
			if call.Priority >= mangopay.PriorityBackground {
				if err := l.sleepUntil(ctx, w.Reset); err != nil {
					return err
				}
				continue
			}
			cost = 2
		}
		res, err := l.rl.AllowN(ctx, l.key, l.cfg.limit(call.Priority), cost)
		if err != nil {
			return fmt.Errorf("mangopay call budget: %w", err)
		}
		if res.Allowed > 0 {
			return nil
		}
		if err := l.sleepUntil(ctx, l.now().Add(res.RetryAfter)); err != nil {
			return err
		}
	}
}

// sleepUntil waits until t, or says when to retry if ctx's deadline comes
// first: a caller with a deadline (an activity) is better off returning and
// being retried at t than holding its slot.
func (l *Limiter) sleepUntil(ctx context.Context, t time.Time) error {
	if dl, ok := ctx.Deadline(); ok && dl.Before(t) {
		return &mangopay.RateLimitedError{RetryAt: t, Err: mangopay.ErrBudgetExhausted}
	}
	timer := time.NewTimer(t.Sub(l.now()))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// pausedUntil reads the pause every process honours after a 429.
func (l *Limiter) pausedUntil(ctx context.Context) (time.Time, error) {
	ms, err := l.rdb.Get(ctx, l.pauseKey).Int64()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("mangopay call budget: read pause: %w", err)
	}
	return time.UnixMilli(ms), nil
}

// belowReserve returns the window whose remaining calls fell under the
// reserve in the latest figures, if any is and has not reset since.
func (l *Limiter) belowReserve(now time.Time) (mangopay.RateLimitWindow, bool) {
	if l.cfg.Reserve == 0 {
		return mangopay.RateLimitWindow{}, false
	}
	l.mu.Lock()
	seen := l.seen
	l.mu.Unlock()
	if seen.ObservedAt.IsZero() {
		return mangopay.RateLimitWindow{}, false
	}
	for _, w := range seen.Windows {
		total := w.Made + w.Remaining
		if total == 0 || !w.Reset.After(now) {
			continue
		}
		if float64(w.Remaining) < l.cfg.Reserve*float64(total) {
			return w, true
		}
	}
	return mangopay.RateLimitWindow{}, false
}

// pauseTimeout bounds the Redis write of a pause after a 429.
const pauseTimeout = 2 * time.Second

// Done records the answer to a call (see mangopay.Limiter): Mangopay's
// figures, and after a 429 a pause until the exhausted window resets that
// every process sharing the budget honours.
func (l *Limiter) Done(call mangopay.Call, status int, limits mangopay.RateLimits) {
	l.metrics.Load().called(call, status)
	if !limits.ObservedAt.IsZero() {
		l.mu.Lock()
		if limits.ObservedAt.After(l.seen.ObservedAt) {
			l.seen = limits
		}
		l.mu.Unlock()
		l.metrics.Load().observeRemaining(limits)
	}
	if status != 429 {
		return
	}
	now := l.now()
	until := now.Add(mangopay.DefaultRateLimitPause)
	if w, ok := limits.Exhausted(); ok && w.Reset.After(now) {
		until = w.Reset
	}
	ctx, cancel := context.WithTimeout(context.Background(), pauseTimeout)
	defer cancel()
	_ = extendPause.Run(ctx, l.rdb, []string{l.pauseKey}, until.UnixMilli(), (until.Sub(now) + time.Second).Milliseconds()).Err()
}

// extendPause sets the pause to ARGV[1] (Unix ms) unless a later one is
// set, expiring it after ARGV[2] ms.
var extendPause = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 0`)
