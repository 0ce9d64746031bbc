// Package callbudget is the one Mangopay call budget that every kycflow
// process draws from (workers, bridges, the hooks command, the fleet
// reconciler, the starter's adoption, on any number of machines): a GCRA
// limiter kept in Redis behind the mangopay.Limiter interface.
//
// Mangopay counts calls per ClientId in four windows shared with the
// platform's payments, and reports each window's remaining calls and reset
// with every answer, so the budget is keyed by ClientId and its rate is read
// from those figures: kycflow spends at most its share of each window's
// limit per window (a quota), never faster than the window's remaining
// calls allow until its reset, and never more than the configured rate (an
// upper bound). Before the first answer, and once a window's reset is past,
// the window counts as whole. The burst is at most the share of the least
// remaining calls.
//
// Priorities share it by depth: interactive calls may use the whole burst,
// webhook reads half of it, background reconciliation a quarter, so a
// background backlog never holds the budget an interactive call needs. A
// minimum share of the rate is kept for background calls on a lane of its
// own, so the fleet reconciliation finds a lost webhook within its interval
// under interactive load and near Mangopay's limits. Below the reserve in
// any window interactive and webhook calls cost double and background calls
// use only their lane; after a 429 every process waits for the exhausted
// window's reset.
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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/kycflow/kycflow/mangopay"
)

// Defaults: a quarter of each of Mangopay's windows (2,300/15 min,
// 4,500/30 min, 8,800/h, 105,600/day), the rest being the platform's. The
// day window binds: 0.25 × 105,600 / 86,400 = 0.31 calls/s (the fixed 0.3/s
// kycflow used to default to), also before Mangopay's first answer; a
// window nearly spent slows it down to what is left before Mangopay answers
// 429. DefaultCallsPerSecond only bounds it.
const (
	DefaultCallsPerSecond = 5
	DefaultBurst          = 300
	// DefaultShare: kycflow spends at most a quarter of each window.
	DefaultShare = 0.25
	// DefaultReserve: slow down once less than a quarter of any window is
	// left to the account as a whole.
	DefaultReserve = 0.25
	// DefaultBackgroundShare: a tenth of the rate is the background lane,
	// and never less than what the worker keeps for the fleet
	// reconciliation (KeepForBackground: one Events page per subscribed
	// event type per interval, 23 calls in 10 minutes, 0.038/s), which a
	// share alone would not give near the limits.
	DefaultBackgroundShare = 0.1
)

// Environment variables.
const (
	EnvCallsPerSecond = "MANGOPAY_MAX_CALLS_PER_SECOND"
	EnvBurst          = "MANGOPAY_MAX_BURST"
	EnvReserve        = "MANGOPAY_RATE_RESERVE"
	EnvShare          = "MANGOPAY_BUDGET_SHARE"
	EnvBackground     = "MANGOPAY_BACKGROUND_MIN_SHARE"
)

// keyPrefix prefixes the Redis keys of the budget; the ClientId follows.
const keyPrefix = "kycflow:mangopay-budget:"

// ratePeriod is the slowest rate's period: one call per ratePeriod.
const ratePeriod = time.Hour

// Config is the budget.
type Config struct {
	// CallsPerSecond bounds the sustained rate of every process together.
	CallsPerSecond float64
	// Burst is how many calls may go at once after a quiet period.
	Burst int
	// Reserve is the share of each Mangopay window (0 to 1) kept for the
	// platform's other traffic: below it kycflow slows down.
	Reserve float64
	// Share is the share (0 to 1] of each window's limit kycflow may spend
	// in that window, and of the least remaining calls it may send at once.
	Share float64
	// BackgroundShare is the share [0, 1) of the rate kept for background
	// calls (the fleet reconciliation) on a lane of their own.
	BackgroundShare float64
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{CallsPerSecond: DefaultCallsPerSecond, Burst: DefaultBurst, Reserve: DefaultReserve,
		Share: DefaultShare, BackgroundShare: DefaultBackgroundShare}
}

// ConfigFromEnv reads MANGOPAY_MAX_CALLS_PER_SECOND, MANGOPAY_MAX_BURST,
// MANGOPAY_RATE_RESERVE, MANGOPAY_BUDGET_SHARE and
// MANGOPAY_BACKGROUND_MIN_SHARE; unset variables take the defaults.
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
	for _, f := range []struct {
		name string
		dst  *float64
	}{{EnvReserve, &c.Reserve}, {EnvShare, &c.Share}, {EnvBackground, &c.BackgroundShare}} {
		v := strings.TrimSpace(getenv(f.name))
		if v == "" {
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not a number", f.name, v))
			continue
		}
		*f.dst = n
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
	if math.IsNaN(c.Share) || c.Share <= 0 || c.Share > 1 {
		errs = append(errs, fmt.Errorf("%s must be a share in (0, 1], got %v", EnvShare, c.Share))
	}
	if math.IsNaN(c.BackgroundShare) || c.BackgroundShare < 0 || c.BackgroundShare >= 1 {
		errs = append(errs, fmt.Errorf("%s must be a share in [0, 1), got %v", EnvBackground, c.BackgroundShare))
	}
	return errors.Join(errs...)
}

// minRate is the slowest rate Redis can hold (one call per ratePeriod).
const minRate = 1 / float64(ratePeriod/time.Second)

// DocumentedLimits are Mangopay's documented rate limits per ClientId (the
// 15-minute, 30-minute, hour and day windows, in the order of
// mangopay.RateLimits.Windows): what the budget assumes before Mangopay's
// first answer.
var DocumentedLimits = [4]struct {
	Window time.Duration
	Calls  int
}{{15 * time.Minute, 2300}, {30 * time.Minute, 4500}, {time.Hour, 8800}, {24 * time.Hour, 105600}}

// Rate returns the calls per second kycflow may make given Mangopay's
// latest figures at now. Share is a quota: in each window kycflow spends at
// most Share of the window's limit (Share × limit ÷ window length), and
// never faster than the window's remaining calls allow until its reset
// (remaining ÷ time to reset), the least of the four windows. A window
// whose reset is past is whole again (Share × its last seen limit ÷ its
// length); before any figure the windows are Mangopay's documented limits.
// CallsPerSecond bounds it; it is never below one call an hour.
func (c Config) Rate(seen mangopay.RateLimits, now time.Time) float64 {
	rate := c.CallsPerSecond
	for i, w := range c.windows(seen) {
		length := w.Window
		if length <= 0 {
			length = DocumentedLimits[i].Window
		}
		limit := w.Made + w.Remaining
		rate = math.Min(rate, c.Share*float64(limit)/length.Seconds())
		left := w.Reset.Sub(now)
		if w.Reset.IsZero() || left <= 0 {
			continue // reset already: the window is whole again
		}
		// A window resets at most its length ahead; a reset further out is a
		// clock skew, and would slow kycflow for nothing.
		if left > length {
			left = length
		}
		rate = math.Min(rate, float64(w.Remaining)/left.Seconds())
	}
	return math.Max(rate, minRate)
}

// windows returns the figures the budget reads: the latest seen, or
// Mangopay's documented limits, whole, before any.
func (c Config) windows(seen mangopay.RateLimits) [4]mangopay.RateLimitWindow {
	if !seen.ObservedAt.IsZero() {
		return seen.Windows
	}
	var ws [4]mangopay.RateLimitWindow
	for i, d := range DocumentedLimits {
		ws[i] = mangopay.RateLimitWindow{Window: d.Window, Remaining: d.Calls}
	}
	return ws
}

// MaxBurst returns how many calls may be owed at once given Mangopay's
// latest figures at now: Burst, but never more than Share of the least
// remaining calls of a window that has not reset (a burst that ignored
// them would spend a nearly used-up window at once), and at least one.
func (c Config) MaxBurst(seen mangopay.RateLimits, now time.Time) int {
	burst := float64(c.Burst)
	if !seen.ObservedAt.IsZero() {
		for _, w := range seen.Windows {
			if w.Reset.IsZero() || !w.Reset.After(now) {
				continue // whole again
			}
			burst = math.Min(burst, c.Share*float64(w.Remaining))
		}
	}
	return max(int(burst), 1)
}

// lane is one GCRA schedule's limit: calls per second, and how many calls
// may be owed at once.
type lane struct {
	rate  float64
	burst int
}

// limit is the GCRA limit of priority p on the main lane at rate calls/s
// and a burst of burst calls: the same rate for all (so they share one
// schedule in Redis), a burst that shrinks with the priority but holds at
// least one call of cost (a call costing more than the burst would never
// go). The background lane's share is taken off.
func (c Config) limit(p mangopay.Priority, rate float64, burst, cost int) lane {
	switch p {
	case mangopay.PriorityInteractive:
	case mangopay.PriorityWebhook:
		burst /= 2
	default:
		burst /= 4
	}
	return lane{rate: math.Max(rate*(1-c.BackgroundShare), minRate), burst: max(burst, cost, 1)}
}

// backgroundLimit is the GCRA limit of the background lane at rate calls/s
// and a main burst of burst calls, never below floor calls/s.
func (c Config) backgroundLimit(rate, floor float64, burst int) lane {
	return lane{rate: math.Max(math.Max(rate*c.BackgroundShare, floor), minRate), burst: max(int(float64(burst)*c.BackgroundShare), 1)}
}

// Limiter is the shared budget. It implements mangopay.Limiter.
type Limiter struct {
	rdb      redis.UniversalClient
	cfg      Config
	key      string
	bgKey    string // the background lane
	pauseKey string
	metrics  atomic.Pointer[Metrics]
	bgFloor  atomic.Uint64 // float64 bits: KeepForBackground

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
		rdb: rdb, cfg: cfg,
		key: keyPrefix + name + ":gcra", bgKey: keyPrefix + name + ":background", pauseKey: keyPrefix + name + ":paused-until",
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
		until, left, err := l.pausedUntil(ctx)
		if err != nil {
			return err
		}
		if left > 0 {
			if err := l.sleepFor(ctx, left, until); err != nil {
				return err
			}
			continue
		}
		now := l.now()
		rate, burst, floor := l.limits(now)
		background := call.Priority >= mangopay.PriorityBackground
		if background && l.cfg.BackgroundShare > 0 {
			// The background lane first: what it holds is background's own.
			retry, err := l.allow(ctx, l.bgKey, l.cfg.backgroundLimit(rate, floor, burst), 1)
			if err != nil {
				return err
			}
			if retry == 0 {
				return nil
			}
			if _, low := l.belowReserve(now); low {
				// Near the limits background keeps its lane only.
				if err := l.sleepUntil(ctx, l.now().Add(retry)); err != nil {
					return err
				}
				continue
			}
		}
		cost := 1
		if w, low := l.belowReserve(now); low {
			if background {
				if err := l.sleepUntil(ctx, w.Reset); err != nil {
					return err
				}
				continue
			}
			cost = 2
		}
		retry, err := l.allow(ctx, l.key, l.cfg.limit(call.Priority, rate, burst, cost), cost)
		if err != nil {
			return err
		}
		if retry == 0 {
			return nil
		}
		if err := l.sleepUntil(ctx, l.now().Add(retry)); err != nil {
			return err
		}
	}
}

// allow takes cost calls from the GCRA schedule at key, or says how long
// until it could (zero: taken).
func (l *Limiter) allow(ctx context.Context, key string, ln lane, cost int) (time.Duration, error) {
	v, err := gcra.Run(ctx, l.rdb, []string{key}, ln.burst, strconv.FormatFloat(ln.rate, 'g', -1, 64), cost).Slice()
	if err != nil {
		return 0, fmt.Errorf("mangopay call budget: %w", err)
	}
	if len(v) != 2 {
		return 0, fmt.Errorf("mangopay call budget: unexpected answer %v", v)
	}
	if ok, _ := v[0].(int64); ok == 1 {
		return 0, nil
	}
	s, _ := v[1].(string)
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("mangopay call budget: retry after %q: %w", s, err)
	}
	return max(time.Duration(secs*float64(time.Second)), time.Millisecond), nil
}

// gcra is a GCRA whose rate may change from call to call (the rate follows
// Mangopay's windows): it keeps the theoretical arrival time and the
// emission interval it was computed with, so that what is owed is counted
// in calls and rescaled to the current rate. A schedule pushed far ahead
// while the rate was low would otherwise hold the budget long after the
// window reset. ARGV: burst, calls per second, cost. Answers {1, "0"} when
// taken, {0, seconds to wait} when not. Time is Redis's, the one clock every
// process shares.
var gcra = redis.NewScript(`
local burst = tonumber(ARGV[1])
local e = 1 / tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local owed = 0
local cur = redis.call('HMGET', KEYS[1], 'tat', 'e')
if cur[1] and cur[2] then
  local tat, olde = tonumber(cur[1]), tonumber(cur[2])
  if tat > now then owed = (tat - now) / olde end
end
local after = owed + cost
if after > burst then
  return {0, tostring((after - burst) * e)}
end
redis.call('HSET', KEYS[1], 'tat', tostring(now + after * e), 'e', tostring(e))
redis.call('PEXPIRE', KEYS[1], math.ceil(after * e * 1000) + 1000)
return {1, '0'}`)

// KeepForBackground keeps at least callsPerSecond (at most the configured
// rate) on the background lane, below the reserve too, as long as the
// windows have that many calls left until their reset: what the fleet
// reconciliation needs to find a lost webhook within its interval. It has
// no effect with a zero BackgroundShare.
func (l *Limiter) KeepForBackground(callsPerSecond float64) {
	if math.IsNaN(callsPerSecond) || callsPerSecond < 0 {
		callsPerSecond = 0
	}
	l.bgFloor.Store(math.Float64bits(math.Min(callsPerSecond, l.cfg.CallsPerSecond)))
}

// Rate returns the rate the budget allows now, from the latest figures
// Mangopay sent this process (see Config.Rate).
func (l *Limiter) Rate(now time.Time) float64 {
	l.mu.Lock()
	seen := l.seen
	l.mu.Unlock()
	return l.cfg.Rate(seen, now)
}

// limits returns the rate and the burst the budget allows now, and the
// background lane's floor: KeepForBackground, but never faster than a
// window's remaining calls until its reset allow (a used-up window gives
// the reconciliation nothing either).
func (l *Limiter) limits(now time.Time) (rate float64, burst int, floor float64) {
	l.mu.Lock()
	seen := l.seen
	l.mu.Unlock()
	floor = math.Float64frombits(l.bgFloor.Load())
	if !seen.ObservedAt.IsZero() {
		for _, w := range seen.Windows {
			if left := w.Reset.Sub(now); !w.Reset.IsZero() && left > 0 {
				floor = math.Min(floor, float64(w.Remaining)/left.Seconds())
			}
		}
	}
	return l.cfg.Rate(seen, now), l.cfg.MaxBurst(seen, now), floor
}

// sleepUntil waits until t, or says when to retry if ctx's deadline comes
// first: a caller with a deadline (an activity) is better off returning and
// being retried at t than holding its slot.
func (l *Limiter) sleepUntil(ctx context.Context, t time.Time) error {
	return l.sleepFor(ctx, t.Sub(l.now()), t)
}

// sleepFor waits d, or says to retry at retryAt if ctx's deadline comes
// first.
func (l *Limiter) sleepFor(ctx context.Context, d time.Duration, retryAt time.Time) error {
	if dl, ok := ctx.Deadline(); ok && dl.Before(l.now().Add(d)) {
		return &mangopay.RateLimitedError{RetryAt: retryAt, Err: mangopay.ErrBudgetExhausted}
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// pausedUntil reads the pause every process honours after a 429: when it
// ends (Mangopay's time) and how long it still holds on Redis's clock, the
// one clock every process shares (a process whose clock runs ahead would
// otherwise ignore the pause, one running behind wait for nothing).
func (l *Limiter) pausedUntil(ctx context.Context) (time.Time, time.Duration, error) {
	v, err := pauseLeft.Run(ctx, l.rdb, []string{l.pauseKey}).Int64Slice()
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("mangopay call budget: read pause: %w", err)
	}
	if len(v) != 2 || v[1] <= 0 {
		return time.Time{}, 0, nil
	}
	return time.UnixMilli(v[0]), time.Duration(v[1]) * time.Millisecond, nil
}

// pauseLeft answers {the pause's end in Unix ms, ms left on Redis's
// clock}; {0, 0} without a pause.
var pauseLeft = redis.NewScript(`
local ends = tonumber(redis.call('GET', KEYS[1]) or '0')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ends <= now then return {0, 0} end
return {ends, ends - now}`)

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
		l.metrics.Load().observeRemaining(limits, l.cfg.Rate(limits, l.now()))
	}
	if status != 429 {
		return
	}
	var until int64 // Mangopay's reset of the exhausted window, Unix ms
	if w, ok := limits.Exhausted(); ok {
		until = w.Reset.UnixMilli()
	}
	ctx, cancel := context.WithTimeout(context.Background(), pauseTimeout)
	defer cancel()
	_ = extendPause.Run(ctx, l.rdb, []string{l.pauseKey}, until, mangopay.DefaultRateLimitPause.Milliseconds()).Err()
}

// extendPause sets the pause to ARGV[1] (Unix ms; when that is not ahead
// of Redis's clock, ARGV[2] ms from now on that clock) unless a later one
// is set, expiring it a second after its end.
var extendPause = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ends = tonumber(ARGV[1])
if ends <= now then ends = now + tonumber(ARGV[2]) end
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if ends > cur then
  redis.call('SET', KEYS[1], string.format('%d', ends), 'PX', ends - now + 1000)
end
return 0`)
