package callbudget_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/internal/simtest"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

// minRate is the slowest budget (one call an hour): the tests that count
// grants use it so that only the burst matters.
const minRate = 1.0 / 3600

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    callbudget.Config
		wantErr string
	}{
		{name: "defaults", env: nil, want: callbudget.DefaultConfig()},
		{name: "set", env: map[string]string{"MANGOPAY_MAX_CALLS_PER_SECOND": "1.5", "MANGOPAY_MAX_BURST": "50", "MANGOPAY_RATE_RESERVE": "0.1",
			"MANGOPAY_BUDGET_SHARE": "0.5", "MANGOPAY_BACKGROUND_MIN_SHARE": "0.2"},
			want: callbudget.Config{CallsPerSecond: 1.5, Burst: 50, Reserve: 0.1, Share: 0.5, BackgroundShare: 0.2}},
		{name: "reserve zero turns the header rule off", env: map[string]string{"MANGOPAY_RATE_RESERVE": "0"},
			want: callbudget.Config{CallsPerSecond: callbudget.DefaultCallsPerSecond, Burst: callbudget.DefaultBurst,
				Share: callbudget.DefaultShare, BackgroundShare: callbudget.DefaultBackgroundShare}},
		{name: "no background lane", env: map[string]string{"MANGOPAY_BACKGROUND_MIN_SHARE": "0"},
			want: callbudget.Config{CallsPerSecond: callbudget.DefaultCallsPerSecond, Burst: callbudget.DefaultBurst,
				Reserve: callbudget.DefaultReserve, Share: callbudget.DefaultShare}},
		{name: "share zero", env: map[string]string{"MANGOPAY_BUDGET_SHARE": "0"}, wantErr: "MANGOPAY_BUDGET_SHARE must be a share in (0, 1]"},
		{name: "share above one", env: map[string]string{"MANGOPAY_BUDGET_SHARE": "1.5"}, wantErr: "MANGOPAY_BUDGET_SHARE must be a share in (0, 1]"},
		{name: "share not a number", env: map[string]string{"MANGOPAY_BUDGET_SHARE": "a quarter"}, wantErr: "MANGOPAY_BUDGET_SHARE \"a quarter\" is not a number"},
		{name: "background share one", env: map[string]string{"MANGOPAY_BACKGROUND_MIN_SHARE": "1"}, wantErr: "MANGOPAY_BACKGROUND_MIN_SHARE must be a share in [0, 1)"},
		{name: "rate not a number", env: map[string]string{"MANGOPAY_MAX_CALLS_PER_SECOND": "fast"}, wantErr: "MANGOPAY_MAX_CALLS_PER_SECOND \"fast\" is not a number"},
		{name: "rate zero", env: map[string]string{"MANGOPAY_MAX_CALLS_PER_SECOND": "0"}, wantErr: "MANGOPAY_MAX_CALLS_PER_SECOND must be between"},
		{name: "rate NaN", env: map[string]string{"MANGOPAY_MAX_CALLS_PER_SECOND": "NaN"}, wantErr: "MANGOPAY_MAX_CALLS_PER_SECOND must be between"},
		{name: "burst not an integer", env: map[string]string{"MANGOPAY_MAX_BURST": "1.5"}, wantErr: "MANGOPAY_MAX_BURST \"1.5\" is not an integer"},
		{name: "burst zero", env: map[string]string{"MANGOPAY_MAX_BURST": "0"}, wantErr: "MANGOPAY_MAX_BURST must be between"},
		{name: "reserve one", env: map[string]string{"MANGOPAY_RATE_RESERVE": "1"}, wantErr: "MANGOPAY_RATE_RESERVE must be a share"},
		{name: "reserve negative", env: map[string]string{"MANGOPAY_RATE_RESERVE": "-0.1"}, wantErr: "MANGOPAY_RATE_RESERVE must be a share"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := callbudget.ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// process is one kycflow process: its own Redis connection, budget and
// Mangopay client, sharing the budget of the simulator's ClientId.
type process struct {
	budget *callbudget.Limiter
	client *mangopay.Client
	reg    *prometheus.Registry
}

func newProcess(t *testing.T, sim *simtest.Sim, cfg callbudget.Config) *process {
	t.Helper()
	reg := prometheus.NewRegistry()
	env := map[string]string{
		"MANGOPAY_BASE_URL": sim.URL, "MANGOPAY_CLIENT_ID": sim.ClientID(), "MANGOPAY_API_KEY": sandbox.DefaultAPIKey,
		"MANGOPAY_MAX_CALLS_PER_SECOND": strconv.FormatFloat(cfg.CallsPerSecond, 'g', -1, 64),
		"MANGOPAY_MAX_BURST":            strconv.Itoa(cfg.Burst),
		"MANGOPAY_RATE_RESERVE":         strconv.FormatFloat(cfg.Reserve, 'g', -1, 64),
		"MANGOPAY_BUDGET_SHARE":         strconv.FormatFloat(cfg.Share, 'g', -1, 64),
		"MANGOPAY_BACKGROUND_MIN_SHARE": strconv.FormatFloat(cfg.BackgroundShare, 'g', -1, 64),
	}
	c, lim, err := callbudget.NewClient(func(k string) string { return env[k] }, redistest.New(t), nil)
	require.NoError(t, err)
	require.NoError(t, lim.RegisterMetrics(reg))
	require.Equal(t, cfg, lim.Config())
	return &process{budget: lim, client: c, reg: reg}
}

// startSim starts a simulator whose ClientId is unique to the test, so
// budgets in a shared Redis never meet.
func startSim(t *testing.T, set sandbox.Settings) (*simtest.Sim, string) {
	t.Helper()
	sim := simtest.Start(t, sandbox.Config{Settings: set, ClientID: redistest.Unique(t)})
	u, err := sim.Client.CreateNaturalUser(context.Background(), simtest.NaturalOwner())
	require.NoError(t, err)
	return sim, u.ID
}

// madeIn15Min reads the simulator's count of calls in its 15-minute window
// (this read included) with a client outside the budget.
func madeIn15Min(t *testing.T, sim *simtest.Sim) int {
	t.Helper()
	_, _, err := sim.Client.ListEvents(context.Background(), nil)
	require.NoError(t, err)
	return sim.Client.RateLimits().Windows[0].Made
}

// deadlineCtx gives calls a deadline far shorter than one emission interval
// of minRate, so a call the budget cannot admit is refused at once.
func deadlineCtx(t *testing.T, p mangopay.Priority) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return mangopay.WithPriority(ctx, p)
}

func TestTwoProcessesShareOneBurst(t *testing.T) {
	sim, userID := startSim(t, sandbox.DefaultSettings())
	cfg := callbudget.Config{CallsPerSecond: minRate, Burst: 40, Share: 1}
	procs := []*process{newProcess(t, sim, cfg), newProcess(t, sim, cfg)}
	before := madeIn15Min(t, sim)

	ctx := deadlineCtx(t, mangopay.PriorityInteractive)
	var sent, refused atomic.Int64
	var wg sync.WaitGroup
	for _, p := range procs {
		for range 8 {
			wg.Go(func() {
				for range 10 {
					_, err := p.client.GetUser(ctx, userID)
					switch {
					case err == nil:
						sent.Add(1)
					case errors.Is(err, mangopay.ErrBudgetExhausted):
						refused.Add(1)
					default:
						t.Errorf("GetUser: %v", err)
					}
				}
			})
		}
	}
	wg.Wait()

	// 160 calls asked for, one burst of 40 between both processes (plus at
	// most one call of the hourly rate), and Mangopay saw exactly those.
	assert.GreaterOrEqual(t, sent.Load(), int64(40))
	assert.LessOrEqual(t, sent.Load(), int64(41))
	assert.Equal(t, int64(160), sent.Load()+refused.Load())
	// Between the two reads: the first read itself, one token per process
	// (tokens are not metered: one an hour per process) and the calls sent.
	assert.Equal(t, int(sent.Load())+1+len(procs), madeIn15Min(t, sim)-before)
}

func TestTwoProcessesKeepTheRate(t *testing.T) {
	cfg := callbudget.Config{CallsPerSecond: 40, Burst: 4, Share: 1}
	clientID := redistest.Unique(t)
	var limiters []*callbudget.Limiter
	for range 2 {
		l, err := callbudget.New(redistest.New(t), clientID, cfg)
		require.NoError(t, err)
		limiters = append(limiters, l)
	}
	const want = 120
	var granted atomic.Int64
	ctx := mangopay.WithPriority(context.Background(), mangopay.PriorityInteractive)
	start := time.Now()
	var wg sync.WaitGroup
	for _, l := range limiters {
		for range 8 {
			wg.Go(func() {
				for granted.Load() < want {
					require.NoError(t, l.Wait(ctx, mangopay.Call{Method: "GET", Route: "/users/{UserId}", Priority: mangopay.PriorityInteractive}))
					granted.Add(1)
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	// A count within the observed window: two budgets of their own would
	// grant twice the rate.
	limit := float64(cfg.Burst) + cfg.CallsPerSecond*elapsed.Seconds() + 1
	assert.LessOrEqual(t, float64(granted.Load()), limit, "granted %d in %s", granted.Load(), elapsed)
}

func TestPrioritiesShareTheBurstByDepth(t *testing.T) {
	l, err := callbudget.New(redistest.New(t), redistest.Unique(t), callbudget.Config{CallsPerSecond: minRate, Burst: 40, Share: 1})
	require.NoError(t, err)
	grants := func(p mangopay.Priority, tries int) int {
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
	// Background may draw a quarter of the burst, webhook reads half,
	// interactive calls all of it: what the lower ones leave stays for the
	// higher ones.
	assert.Equal(t, 10, grants(mangopay.PriorityBackground, 20))
	assert.Equal(t, 10, grants(mangopay.PriorityWebhook, 20))
	assert.Equal(t, 0, grants(mangopay.PriorityBackground, 5))
	assert.Equal(t, 20, grants(mangopay.PriorityInteractive, 40))
	assert.Equal(t, 0, grants(mangopay.PriorityWebhook, 5))
}

func TestA429PausesEveryProcessUntilTheReset(t *testing.T) {
	set := sandbox.DefaultSettings()
	set.RateLimits = [4]int{10, 4500, 8800, 105600}
	sim, userID := startSim(t, set)
	cfg := callbudget.Config{CallsPerSecond: 100, Burst: 100, Share: 1}
	a, b := newProcess(t, sim, cfg), newProcess(t, sim, cfg)
	for _, p := range []*process{a, b} {
		p.budget.SetClock(sim.Now)
	}
	ctx := deadlineCtx(t, mangopay.PriorityInteractive)

	// kycflow reads the window, then the platform's own traffic (a client
	// outside the budget) spends the rest: kycflow's next call, within what
	// it last saw, meets a 429.
	_, err := a.client.GetUser(ctx, userID)
	require.NoError(t, err)
	require.Greater(t, a.client.RateLimits().Windows[0].Remaining, 2, "room for kycflow's next call")
	for i := 0; ; i++ {
		require.Less(t, i, 20, "no 429 from a 10-call window")
		if _, _, err := sim.Client.ListEvents(context.Background(), nil); err != nil {
			break
		}
	}
	var rl *mangopay.RateLimitedError
	_, err = a.client.GetUser(ctx, userID)
	require.ErrorAs(t, err, &rl)
	var apiErr *mangopay.Error
	require.ErrorAs(t, rl, &apiErr)
	assert.Equal(t, 429, apiErr.StatusCode)
	assert.Equal(t, 15*time.Minute, rl.Window)
	reset := a.client.RateLimits().Windows[0].Reset
	assert.Equal(t, reset, rl.RetryAt, "retry at the 15-minute window's reset")
	assert.Equal(t, 1.0, testutil.ToFloat64(counter(t, a.reg, callbudget.MetricRateLimited)))

	// The other process sends nothing before the reset, not even a token
	// request.
	_, err = b.client.GetUser(ctx, userID)
	var brl *mangopay.RateLimitedError
	require.ErrorAs(t, err, &brl)
	require.ErrorIs(t, err, mangopay.ErrBudgetExhausted)
	assert.Equal(t, reset.UnixMilli(), brl.RetryAt.UnixMilli())
	n, err := testutil.GatherAndCount(b.reg, callbudget.MetricCalls)
	require.NoError(t, err)
	assert.Zero(t, n, "process b sent nothing")

	// The pause holds until the reset on Redis's clock (the simulator's
	// clock has not moved yet), and no longer.
	_, left, err := b.budget.PausedUntil(ctx)
	require.NoError(t, err)
	assert.Positive(t, left)
	assert.LessOrEqual(t, left, 15*time.Minute)
}

func TestBelowTheReserveBackgroundWaitsAndOthersPayDouble(t *testing.T) {
	set := sandbox.DefaultSettings()
	set.RateLimits = [4]int{100, 4500, 8800, 105600}
	sim, userID := startSim(t, set) // one call made
	p := newProcess(t, sim, callbudget.Config{CallsPerSecond: minRate, Burst: 40, Reserve: 0.5, Share: 1})
	ctx := deadlineCtx(t, mangopay.PriorityInteractive)
	// The platform's own traffic (a client outside the budget) spends 55
	// calls; kycflow's token and call leave 42 of 100: under half of the
	// 15-minute window, more than the burst.
	for range 55 {
		_, _, err := sim.Client.ListEvents(context.Background(), nil)
		require.NoError(t, err)
	}
	_, err := p.client.GetUser(ctx, userID)
	require.NoError(t, err)
	require.Greater(t, p.client.RateLimits().Windows[0].Remaining, 40)
	reset := p.client.RateLimits().Windows[0].Reset

	err = p.budget.Wait(deadlineCtx(t, mangopay.PriorityBackground), mangopay.Call{Priority: mangopay.PriorityBackground})
	var rl *mangopay.RateLimitedError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, reset, rl.RetryAt, "background waits for the window's reset")

	n := 0
	for range 40 {
		if p.budget.Wait(ctx, mangopay.Call{Priority: mangopay.PriorityInteractive}) == nil {
			n++
		}
	}
	assert.Equal(t, 19, n, "the 39 calls left in the burst cost two each")
}

func TestRemainingIsAbsentBeforeTheFirstCall(t *testing.T) {
	sim, userID := startSim(t, sandbox.DefaultSettings())
	p := newProcess(t, sim, callbudget.DefaultConfig())
	n, err := testutil.GatherAndCount(p.reg, callbudget.MetricRemaining)
	require.NoError(t, err)
	assert.Zero(t, n)
	n, err = testutil.GatherAndCount(p.reg, callbudget.MetricLimit)
	require.NoError(t, err)
	assert.Zero(t, n)

	_, err = p.client.GetUser(deadlineCtx(t, mangopay.PriorityWebhook), userID)
	require.NoError(t, err)
	n, err = testutil.GatherAndCount(p.reg, callbudget.MetricRemaining)
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	got := p.client.RateLimits()
	assert.Equal(t, float64(got.Windows[3].Remaining), gaugeValue(t, p.reg, callbudget.MetricRemaining, "24h"))
	// The window's size beside it: the alerts read the share left.
	assert.Equal(t, float64(got.Windows[3].Made+got.Windows[3].Remaining), gaugeValue(t, p.reg, callbudget.MetricLimit, "24h"))
	calls, err := testutil.GatherAndCount(p.reg, callbudget.MetricCalls)
	require.NoError(t, err)
	assert.Equal(t, 1, calls)
}

// counter returns the one series of a metric family.
func counter(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	return collectorFunc(func() float64 { return sumFamily(t, reg, name, "") })
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name, window string) float64 {
	t.Helper()
	return sumFamily(t, reg, name, window)
}

// sumFamily adds the values of a family's series (those whose window label
// is window, when set).
func sumFamily(t *testing.T, reg *prometheus.Registry, name, window string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if window != "" {
				match := false
				for _, lp := range m.GetLabel() {
					match = match || (lp.GetName() == "window" && lp.GetValue() == window)
				}
				if !match {
					continue
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

type collectorFunc func() float64

func (f collectorFunc) Describe(ch chan<- *prometheus.Desc) {
	ch <- prometheus.NewDesc("value", "value", nil, nil)
}

func (f collectorFunc) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("value", "value", nil, nil), prometheus.GaugeValue, f())
}
