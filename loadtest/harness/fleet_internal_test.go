package harness

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/workflows"
)

func TestParseProcStatus(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Mem
		wantErr string
	}{
		{name: "a process", in: "Name:\tworker\nVmPeak:\t 900 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t9\n",
			want: Mem{RSS: 100 << 20, HWM: 200 << 20}},
		{name: "a kernel thread", in: "Name:\tkthreadd\nThreads:\t1\n", wantErr: "no VmRSS"},
		{name: "only one", in: "VmRSS:\t 10 kB\n", wantErr: "no VmRSS"},
		{name: "another unit", in: "VmRSS:\t 10 MB\nVmHWM:\t 10 kB\n", wantErr: "VmRSS"},
		{name: "not a number", in: "VmRSS:\t ten kB\nVmHWM:\t 10 kB\n", wantErr: "not a size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parseProcStatus([]byte(tt.in))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, m)
		})
	}
}

func TestParseProcStat(t *testing.T) {
	// utime 250 and stime 50 ticks: 3 s. The name holds a space and a ')'.
	line := "4242 (my worker) R 1 4242 4242 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 9 0 123 456 789"
	d, err := parseProcStat([]byte(line))
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, d)

	_, err = parseProcStat([]byte("4242 (w) R 1 2"))
	require.ErrorContains(t, err, "fields")
	_, err = parseProcStat([]byte("4242 w R"))
	require.ErrorContains(t, err, "no command name")
	_, err = parseProcStat([]byte("4242 (w) R 1 4242 4242 0 -1 4194304 100 0 0 0 x 50 0 0"))
	require.ErrorContains(t, err, "not a count")
}

func TestParseMetrics(t *testing.T) {
	in := `# HELP temporal_sticky_cache_hit hits
# TYPE temporal_sticky_cache_hit counter
temporal_sticky_cache_hit{namespace="default",task_queue="kyc-onboarding"} 12
temporal_sticky_cache_hit{namespace="other",task_queue="kyc-onboarding"} 3
temporal_sticky_cache_miss_total{namespace="default"} 4 1700000000000
go_memstats_heap_inuse_bytes 1.048576e+06
label_with_brace{path="{x}"} 1
`
	m, err := parseMetrics(strings.NewReader(in))
	require.NoError(t, err)
	assert.InDelta(t, 15, m.counter("temporal_sticky_cache_hit"), 0, "summed over labels")
	assert.InDelta(t, 4, m.counter("temporal_sticky_cache_miss"), 0, "the _total name, a timestamp after the value")
	assert.InDelta(t, 12, m.gauge("temporal_sticky_cache_hit"), 0, "a gauge: the largest, not the sum")
	assert.InDelta(t, 1<<20, m.gauge("go_memstats_heap_inuse_bytes"), 0)
	assert.InDelta(t, 1, m.gauge("label_with_brace"), 0)
	assert.InDelta(t, -1, m.gauge("absent"), 0)

	_, err = parseMetrics(strings.NewReader("lonely\n"))
	require.ErrorContains(t, err, "no value")
	_, err = parseMetrics(strings.NewReader("x{a=\"b\"} many\n"))
	require.ErrorContains(t, err, "value")
}

func TestCurveSamplesEveryStep(t *testing.T) {
	tests := []struct {
		name string
		open []int // successive counts of open onboardings
		want []int // those sampled
	}{
		{name: "one at a time", open: seq(1, 1234), want: []int{500, 1000}},
		{name: "jumps over a step", open: []int{499, 1001, 1002, 1499, 1500, 2600}, want: []int{1001, 1500, 2600}},
		{name: "below the first step", open: seq(1, 499), want: nil},
		{name: "exactly on the steps", open: []int{500, 1000, 1500}, want: []int{500, 1000, 1500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCurve(500)
			var got []int
			for _, n := range tt.open {
				if c.due(n) {
					got = append(got, n)
				}
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func seq(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func TestMissSampleCount(t *testing.T) {
	tests := []struct {
		name              string
		want, open, cache int
		out               int
	}{
		{name: "enough evicted", want: 400, open: 3000, cache: 1000, out: 400},
		{name: "the older half of the evicted bounds it", want: 400, open: 1300, cache: 1000, out: 140},
		{name: "half the cache bounds it", want: 400, open: 3000, cache: 300, out: 140},
		{name: "whole blocks", want: 55, open: 3000, cache: 1000, out: 40},
		{name: "nothing evicted", want: 400, open: 900, cache: 1000, out: 0},
		{name: "default cache", want: 400, open: 3000, cache: 0, out: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.out, missSampleCount(tt.want, tt.open, tt.cache))
		})
	}
}

func TestAccountWave(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	good := func(id string, down, up float64) waveUser {
		return waveUser{UserID: id, Affected: true, OldSession: "idv_old_" + id, OldURL: "https://h/old/" + id,
			DowngradedAt: at(down), NewSession: "idv_new_" + id, NewURL: "https://h/new/" + id, ReopenedAt: at(up),
			SessionsAtMP: 2, StateAfter: workflows.StatusAwaitingUser, StateSessionOK: true}
	}
	t.Run("every affected user reopened", func(t *testing.T) {
		users := []waveUser{good("a", 0, 2), good("b", 30, 31), good("c", 60, 75), {UserID: "d"}, {UserID: "e"}}
		r := account(users)
		assert.True(t, r.OK(), "%+v", r)
		assert.Equal(t, 3, r.Affected)
		assert.Equal(t, 3, r.Reopened)
		assert.InDelta(t, 75, r.ToAll, 1e-9, "first downgrade to the last reopening")
		assert.InDelta(t, 60, r.Spread, 1e-9)
		assert.Equal(t, 3, r.PerUser.Count)
		assert.Equal(t, 2*time.Second, r.PerUser.P50)
		assert.Equal(t, 15*time.Second, r.PerUser.Max)
	})

	tests := []struct {
		name   string
		break_ func(u []waveUser)
		field  func(r WaveResult) []string
		want   []string
	}{
		{name: "never reopened", break_: func(u []waveUser) { u[1].ReopenedAt, u[1].NewSession = time.Time{}, "" },
			field: func(r WaveResult) []string { return r.NotReopened }, want: []string{"b"}},
		{name: "the old session notified again", break_: func(u []waveUser) { u[0].NewSession = u[0].OldSession },
			field: func(r WaveResult) []string { return r.NotReopened }, want: []string{"a"}},
		{name: "the same HostedUrl", break_: func(u []waveUser) { u[2].NewURL = u[2].OldURL },
			field: func(r WaveResult) []string { return r.SameURL }, want: []string{"c"}},
		{name: "one HostedUrl for two users", break_: func(u []waveUser) { u[1].NewURL = u[0].NewURL },
			field: func(r WaveResult) []string { return r.SharedURL }, want: []string{"a", "b"}},
		{name: "a duplicate session", break_: func(u []waveUser) { u[0].SessionsAtMP = 3 },
			field: func(r WaveResult) []string { return r.DuplicateIDV }, want: []string{"a"}},
		{name: "the platform API reads another state", break_: func(u []waveUser) { u[2].StateAfter = workflows.StatusVerified },
			field: func(r WaveResult) []string { return r.WrongState }, want: []string{"c"}},
		{name: "the platform API reads another session", break_: func(u []waveUser) { u[2].StateSessionOK = false },
			field: func(r WaveResult) []string { return r.WrongState }, want: []string{"c"}},
		{name: "an unaffected user reopened", break_: func(u []waveUser) { u[3].NewSession = "idv_x" },
			field: func(r WaveResult) []string { return r.UnaffectedMoved }, want: []string{"d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users := []waveUser{good("a", 0, 2), good("b", 30, 31), good("c", 60, 75), {UserID: "d"}}
			tt.break_(users)
			r := account(users)
			assert.False(t, r.OK())
			got := slices.Clone(tt.field(r))
			slices.Sort(got)
			assert.Equal(t, tt.want, got)
		})
	}

	t.Run("no time to all while one is missing", func(t *testing.T) {
		users := []waveUser{good("a", 0, 2), {UserID: "b", Affected: true, DowngradedAt: at(1)}}
		r := account(users)
		assert.Zero(t, r.ToAll)
		assert.Equal(t, 2, r.Downgraded)
		assert.Equal(t, 1, r.Reopened)
	})
}

func TestCheckBudget(t *testing.T) {
	s := func(sec float64, calls int) callSample {
		return callSample{At: time.Duration(sec * float64(time.Second)), Calls: calls}
	}
	t.Run("within burst and rate", func(t *testing.T) {
		// A burst of 10 at once, then 2 a second: the limit exactly.
		samples := []callSample{s(0, 0), s(0.5, 10), s(1.5, 12), s(2.5, 14), s(3.5, 16)}
		b := checkBudget(samples, 2, 10, 0)
		assert.True(t, b.Kept, "%+v", b)
		assert.InDelta(t, 8, b.PeakPerSecond, 1e-9, "0 to 1.5 s (the first sample a second later): 12 calls in 1.5 s")
	})
	t.Run("over the rate over a long window", func(t *testing.T) {
		// Never more than the burst in a second, but 5 a second for 10 s
		// against a rate of 2 and a burst of 10.
		var samples []callSample
		for i := range 11 {
			samples = append(samples, s(float64(i), 5*i))
		}
		b := checkBudget(samples, 2, 10, 0)
		assert.False(t, b.Kept)
		assert.Equal(t, 50, b.WorstCalls)
		assert.InDelta(t, 30, b.WorstLimit, 1e-9)
		assert.Equal(t, time.Duration(0), b.WorstFrom)
		assert.Equal(t, 10*time.Second, b.WorstTo)
	})
	t.Run("over the burst at once", func(t *testing.T) {
		b := checkBudget([]callSample{s(0, 0), s(0.25, 14)}, 2, 10, 0)
		assert.False(t, b.Kept)
	})
	t.Run("the slack covers the sampling", func(t *testing.T) {
		b := checkBudget([]callSample{s(0, 0), s(0.25, 11)}, 2, 10, time.Second)
		assert.True(t, b.Kept, "10 + 2 × 1.25 = 12.5")
	})
}

func TestPickAffected(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	got := pickAffected(1000, 0.2, rng)
	assert.Len(t, got, 200)
	seen := map[int]bool{}
	for _, i := range got {
		assert.True(t, i >= 0 && i < 1000)
		assert.False(t, seen[i], "user %d twice", i)
		seen[i] = true
	}
	assert.Len(t, pickAffected(7, 0.2, rng), 1, "round(1.4)")
}

func TestWaveConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*WaveConfig)
		wantErr string
	}{
		{name: "defaults", change: func(*WaveConfig) {}},
		{name: "share zero", change: func(c *WaveConfig) { c.Share = -0.1 }, wantErr: "--share"},
		{name: "share above one", change: func(c *WaveConfig) { c.Share = 1.5 }, wantErr: "--share"},
		{name: "no budget", change: func(c *WaveConfig) { c.BudgetRate = -1 }, wantErr: "--budget-rate"},
		{name: "negative window", change: func(c *WaveConfig) { c.Window = -time.Second }, wantErr: "--window"},
		{name: "too many at once", change: func(c *WaveConfig) { c.Concurrency = 5000 }, wantErr: "--concurrency"},
		{name: "signups during the wave", change: func(c *WaveConfig) { c.SignupRate = 2 }},
		{name: "negative signup rate", change: func(c *WaveConfig) { c.SignupRate = -1 }, wantErr: "--signup-rate"},
		{name: "signup rate too low to tick", change: func(c *WaveConfig) { c.SignupRate = 1e-12 }, wantErr: "--signup-rate"},
		{name: "signup rate not a number", change: func(c *WaveConfig) { c.SignupRate = math.NaN() }, wantErr: "--signup-rate"},
		{name: "too few quiet signups", change: func(c *WaveConfig) { c.SignupRate, c.QuietProbe = 1, 5*time.Second }, wantErr: "--quiet-probe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c WaveConfig
			tt.change(&c)
			c.Defaults()
			err := c.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// The calls counted per signup leave out the setup's user creation and the
// fleet reconciliation (a run of it once fell inside TestOpenProfile's
// window and made 417 calls of 400).
func TestOnboardingCalls(t *testing.T) {
	byRoute := map[string]int{
		"POST /sca/users/natural":                     200, // the harness's own setup
		"GET /sca/users/{userId}":                     200,
		"POST /users/{userId}/identity-verifications": 200,
		"GET /events":                                 17,
	}
	assert.Equal(t, 417, kycflowCalls(byRoute))
	assert.Equal(t, 400, onboardingCalls(byRoute))
}

// The fleet profiles sign validated users up and leave them open or
// verified: their sessions keep Mangopay's lifetime. (With the mixed
// profile's default mix, its expired path shortened them to 90 s, and a
// 10,000-user wave saw 1,311 of its reopened sessions expire before the
// check.)
func TestFleetProfilesKeepMangopaysSessionLifetime(t *testing.T) {
	var open OpenConfig
	open.Defaults()
	assert.Zero(t, open.System.SessionLifetime, "open")
	assert.Equal(t, Mix{PathValidated: 1}, open.System.Mix)
	var wave WaveConfig
	wave.Defaults()
	assert.Zero(t, wave.System.SessionLifetime, "wave")
	assert.Equal(t, Mix{PathValidated: 1}, wave.System.Mix)
}
