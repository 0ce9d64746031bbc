package harness

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/internal/cloudactions"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

func ms(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, v := range n {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestBusiest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		at    []time.Duration
		w     time.Duration
		want  int
		start time.Duration
	}{
		{"none", nil, time.Second, 0, 0},
		{"the window is half open", ms(0, 999, 1000), time.Second, 2, 0},
		{"the busiest is later", ms(0, 1500, 1600, 1700, 2499, 2500), time.Second, 4, 1500 * time.Millisecond},
		{"calls at the same moment", ms(5, 5, 5), time.Millisecond, 3, 5 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, start := busiest(tc.at, tc.w)
			assert.Equal(t, tc.want, n)
			assert.Equal(t, tc.start, start)
		})
	}
}

func TestBudgetCheck(t *testing.T) {
	b := Budget{CallsPerSecond: 2, Burst: 3}
	// Allowed in 1 s: 3 + 2*(1+1) = 7; in 10 s: 3 + 2*11 = 25.
	for _, tc := range []struct {
		name string
		at   []time.Duration
		over []string
	}{
		{"a burst within the budget", ms(0, 1, 2, 3, 4, 5, 6), nil},
		{"one call too many in a second", ms(0, 1, 2, 3, 4, 5, 6, 7), []string{"8 Mangopay calls within 1s from 0s, the budget (2/s, burst 3) allows 7"}},
		{"steady above the rate", func() []time.Duration {
			var at []time.Duration
			for i := range 30 { // 3/s for 10 s
				at = append(at, time.Duration(i)*time.Second/3)
			}
			return at
		}(), []string{"30 Mangopay calls within 10s from 0s, the budget (2/s, burst 3) allows 25"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			windows := budgetWindows(tc.at, b, []time.Duration{time.Second, 10 * time.Second})
			var got []string
			for _, v := range budgetViolations(windows, b) {
				assert.Equal(t, ViolationBudget, v.Kind)
				got = append(got, v.Detail)
			}
			assert.Equal(t, tc.over, got)
		})
	}
}

func TestCheckWindows(t *testing.T) {
	assert.Equal(t, []time.Duration{time.Second}, checkWindows(5*time.Second))
	assert.Equal(t, []time.Duration{time.Second, 10 * time.Second, time.Minute}, checkWindows(2*time.Minute))
}

func TestDefaultBudget(t *testing.T) {
	assert.Equal(t, Budget{CallsPerSecond: 20, Burst: 20}, DefaultBudget(1))
	assert.Equal(t, Budget{CallsPerSecond: 80, Burst: 80}, DefaultBudget(10))
	require.NoError(t, DefaultBudget(0.1).validate())
	assert.Equal(t, []string{"MANGOPAY_MAX_CALLS_PER_SECOND=2.5", "MANGOPAY_MAX_BURST=7", "MANGOPAY_BUDGET_SHARE=1"}, Budget{CallsPerSecond: 2.5, Burst: 7}.env())
	assert.Error(t, Budget{CallsPerSecond: 2, Burst: 0}.validate())
}

// The harness's own calls (user creation) are neither in the rates nor
// in any user's calls; calls a fault answered are.
func TestCallFigures(t *testing.T) {
	began := time.UnixMilli(1_000_000)
	log := []sandbox.CallRecord{
		{At: 1_000_000, Route: "POST /sca/users/natural", Status: 200},
		{At: 1_000_100, Route: "GET /sca/users/{userId}", UserID: "u1", Status: 200},
		{At: 1_000_200, Route: "POST /users/{userId}/identity-verifications", UserID: "u1", Status: 503},
		{At: 1_000_300, Route: "GET /identity-verifications/{id}", UserID: "u2", Status: 200},
		{At: 1_002_000, Route: "GET /hooks", Status: 200},
	}
	m, perUser := callFigures(log, began, Budget{CallsPerSecond: 1, Burst: 1}, time.Minute)
	assert.Equal(t, map[string]int{"u1": 2, "u2": 1}, perUser)
	assert.Equal(t, 3, m.PeakCallsPerSecond)
	require.Len(t, m.BudgetWindows, 3)
	assert.Equal(t, BudgetWindow{Window: time.Second, MaxCalls: 3, Allowed: 3, At: 100 * time.Millisecond}, m.BudgetWindows[0])
}

func TestIntStats(t *testing.T) {
	assert.Equal(t, IntStats{}, intStats(nil))
	assert.Equal(t, IntStats{P50: 4, Max: 9, Mean: 5}, intStats([]int{9, 4, 2}))
	assert.Equal(t, IntStats{P50: 3, Max: 4, Mean: 2.5}, intStats([]int{1, 2, 3, 4}))
}

func TestPathCosts(t *testing.T) {
	run := func(evs ...*historypb.HistoryEvent) []*historypb.HistoryEvent { return evs }
	users := []*userRun{
		{UserID: "a", Path: PathValidated},
		{UserID: "b", Path: PathValidated},
		{UserID: "c", Path: PathReview},
		{UserID: "", Path: PathReview}, // never created: not counted
	}
	histories := map[string]onboardingHistory{
		// Two runs (continue-as-new): both count.
		"a": {runs: [][]*historypb.HistoryEvent{
			run(started(), event(enumspb.EVENT_TYPE_TIMER_STARTED)),
			run(started(), event(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)),
		}},
		"b": {runs: [][]*historypb.HistoryEvent{run(started())}},
		"c": {err: os.ErrNotExist},
	}
	got := pathCosts(users, histories, map[string]int{"a": 3, "b": 5, "c": 7})
	assert.Equal(t, map[Path]PathCost{
		PathValidated: {Onboardings: 2, Actions: IntStats{P50: 4, Max: 4, Mean: 2.5}, MangopayCalls: IntStats{P50: 5, Max: 5, Mean: 4},
			ActionsByKind: map[string]float64{cloudactions.Start: 1.5, cloudactions.Timers: 0.5, cloudactions.Activities: 0.5}},
		PathReview: {Onboardings: 1, MangopayCalls: IntStats{P50: 7, Max: 7, Mean: 7}, ActionsByKind: map[string]float64{}},
	}, got)
}

func TestGoal(t *testing.T) {
	assert.True(t, Goal{Limit: 12, P50: 12, Max: 20}.Met())
	assert.False(t, Goal{Limit: 3, P50: 4, Max: 4}.Met())
}

func TestWebhookLatencies(t *testing.T) {
	t0 := time.Unix(1000, 0)
	after := func(msec int) time.Time { return t0.Add(time.Duration(msec) * time.Millisecond) }
	deliveries := []sandbox.Delivery{
		// A first try that failed, then its retry: latency from the first.
		{EventType: "E", ResourceID: "r1", Date: 1, SentAt: after(0), Result: sandbox.Failed},
		{EventType: "E", ResourceID: "r1", Date: 1, SentAt: after(900), Result: sandbox.Delivered},
		{EventType: "E", ResourceID: "r2", Date: 1, SentAt: after(100), Result: sandbox.Delivered},
		// Delivered, never signalled.
		{EventType: "E", ResourceID: "r3", Date: 1, SentAt: after(0), Result: sandbox.Delivered},
		// Dropped by the chaos: never sent, not counted.
		{EventType: "E", ResourceID: "r4", Date: 1, Result: sandbox.Dropped},
	}
	signals := []signalSeen{
		{key: "E|r1|1", recorded: after(1000), applied: after(1200)},
		// The same event signalled twice (a duplicate webhook): the first.
		{key: "E|r2|1", recorded: after(300)},
		{key: "E|r2|1", recorded: after(150), applied: after(400)},
		{key: "other|x|1", recorded: after(5)},
	}
	toSignal, toState, unsignalled := webhookLatencies(deliveries, signals)
	assert.Equal(t, Percentiles{Count: 2, P50: time.Second, P99: time.Second, Max: time.Second}, toSignal)
	assert.Equal(t, Percentiles{Count: 2, P50: 1200 * time.Millisecond, P99: 1200 * time.Millisecond, Max: 1200 * time.Millisecond}, toState)
	assert.Equal(t, 1, unsignalled)
}

const intakeText = `# HELP kycflow_webhook_intake_duration_seconds Time to answer a Mangopay webhook.
# TYPE kycflow_webhook_intake_duration_seconds histogram
kycflow_webhook_intake_duration_seconds_bucket{le="0.001"} %d
kycflow_webhook_intake_duration_seconds_bucket{le="0.01"} %d
kycflow_webhook_intake_duration_seconds_bucket{le="0.1"} %d
kycflow_webhook_intake_duration_seconds_bucket{le="+Inf"} %d
kycflow_webhook_intake_duration_seconds_sum 1.5
kycflow_webhook_intake_duration_seconds_count %d
kycflow_forwarder_lag_seconds_bucket{outcome="forwarded",le="0.005"} 3
`

func buckets(t *testing.T, counts ...int) []bucket {
	t.Helper()
	text := intakeText
	for _, n := range append(counts, counts[len(counts)-1]) {
		text = strings.Replace(text, "%d", strconv.Itoa(n), 1)
	}
	bs, err := parseHistogram(strings.NewReader(text), intakeMetric)
	require.NoError(t, err)
	return bs
}

func TestParseHistogram(t *testing.T) {
	bs := buckets(t, 1, 5, 9, 10)
	assert.Equal(t, []bucket{{0.001, 1}, {0.01, 5}, {0.1, 9}, {math.Inf(1), 10}}, bs)
	_, err := parseHistogram(strings.NewReader("other_metric 1\n"), intakeMetric)
	assert.ErrorContains(t, err, "no kycflow_webhook_intake_duration_seconds buckets")
	_, err = parseHistogram(strings.NewReader(`kycflow_webhook_intake_duration_seconds_bucket{le="soon"} 1`+"\n"), intakeMetric)
	assert.ErrorContains(t, err, "unreadable le")
}

func TestQuantile(t *testing.T) {
	assert.Equal(t, BucketQuantile{}, quantile(nil, 0.99))
	assert.Equal(t, BucketQuantile{Count: 100, AtMost: 0.01}, quantile([]bucket{{0.001, 50}, {0.01, 99}, {0.1, 100}, {math.Inf(1), 100}}, 0.99))
	assert.Equal(t, BucketQuantile{Count: 100, AtMost: 0.1}, quantile([]bucket{{0.001, 50}, {0.01, 98}, {0.1, 100}, {math.Inf(1), 100}}, 0.99))
	q := quantile([]bucket{{0.1, 90}, {math.Inf(1), 100}}, 0.99)
	assert.True(t, math.IsInf(q.AtMost, 1))
	b, err := q.MarshalJSON()
	require.NoError(t, err)
	assert.JSONEq(t, `{"count":100,"p99_at_most_seconds":null}`, string(b))
}

// The intake over fault windows sums the differences between scrapes of
// one bridge process; a restarted bridge starts from zero.
func TestIntakeFigures(t *testing.T) {
	t0 := time.Unix(1000, 0)
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	is := newIntakeScraper()
	is.add(1, sec(1), sec(0), buckets(t, 10, 10, 10, 10)) // 10 fast ones before any fault
	is.add(1, sec(2), sec(1), buckets(t, 10, 10, 12, 12)) // 2 slow ones in the fault
	is.add(1, sec(3), sec(2), buckets(t, 20, 20, 22, 22)) // 10 fast ones after it
	is.add(2, sec(3), sec(2), buckets(t, 0, 0, 0, 1))     // a new bridge process: 1 very slow, in the fault
	is.failed()
	got := is.figures([]window{{from: sec(1).Add(500 * time.Millisecond), to: sec(2).Add(100 * time.Millisecond)}})
	assert.Equal(t, IntakeFigures{
		Overall:      BucketQuantile{Count: 23, AtMost: math.Inf(1)},
		DuringFaults: BucketQuantile{Count: 13, AtMost: math.Inf(1)},
		ScrapeErrors: 1,
	}, got)
	got = is.figures(nil)
	assert.Zero(t, got.DuringFaults.Count)

	is = newIntakeScraper()
	is.add(1, sec(1), sec(0), buckets(t, 90, 99, 100, 100))
	is.add(1, sec(2), sec(1), buckets(t, 90, 99, 101, 101))
	got = is.figures([]window{{from: sec(1), to: sec(2)}})
	assert.Equal(t, BucketQuantile{Count: 101, AtMost: 0.1}, got.Overall)
	assert.Equal(t, BucketQuantile{Count: 1, AtMost: 0.1}, got.DuringFaults, "only the second scrape's interval overlaps the window")
}

func TestFaultWindows(t *testing.T) {
	began := time.Unix(1000, 0)
	got := faultWindows([]Injected{{Fault: FaultWorkerKill, At: 2 * time.Second}}, began, 3*time.Second)
	assert.Equal(t, []window{{from: time.Unix(1002, 0), to: time.Unix(1005, 0)}}, got)
}

// The sampler's reading of /proc: VmHWM in KiB, utime+stime in seconds,
// a command name with spaces and parentheses.
func TestProcSamplerRead(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "4242")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	write := func(status, stat string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644))
	}
	ps := &procSampler{procRoot: root}
	status := "Name:\tworker\nVmPeak:\t  900000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40000 kB\n"
	stat := "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 0 0\n"
	write(status, stat)
	rss, cpu, err := ps.read(4242)
	require.NoError(t, err)
	assert.Equal(t, int64(51200), rss)
	assert.InDelta(t, 3.0, cpu, 1e-9)

	write("Name:\tzombie\n", stat)
	_, _, err = ps.read(4242)
	assert.ErrorContains(t, err, "no VmRSS and VmHWM")
	write("VmHWM:\t 12 MB\nVmRSS:\t 1 kB\n", stat)
	_, _, err = ps.read(4242)
	assert.ErrorContains(t, err, "VmHWM")
	write(status, "4242 (cmd) S 1 2")
	_, _, err = ps.read(4242)
	assert.ErrorContains(t, err, "fields after the name")
}

// The sampler follows a child of the test process that is no proc (as it
// does the Temporal dev server), and a proc across a restart, with the
// kernel's figures once it has ended.
func TestProcSampler(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	other := exec.Command(sleep, "30")
	require.NoError(t, other.Start())
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })

	p := &proc{name: "sleeper", path: sleep, args: []string{"30"}, logPath: filepath.Join(t.TempDir(), "sleeper.log")}
	require.NoError(t, p.start(t.Context()))
	ps := newProcSampler()
	ps.procs = func() []*proc { return []*proc{p} }
	ps.sample()
	p.kill()
	require.NoError(t, p.start(t.Context()))
	ps.sample()
	p.kill()
	ps.finish()

	figs := ps.figures()
	var names []string
	for _, f := range figs {
		names = append(names, f.Name)
		assert.Positive(t, f.PeakRSSKiB, "%s", f.Name)
	}
	assert.Equal(t, []string{"sleep", "sleeper", "sleeper"}, names)
	assert.Equal(t, "sampled", figs[0].Source, "the other child still runs")
	assert.Equal(t, "exit", figs[1].Source)
	assert.Equal(t, "exit", figs[2].Source)
	assert.Equal(t, []ProcessSummary{
		{Name: "sleep", Incarnations: 1, PeakRSSKiB: figs[0].PeakRSSKiB, CPUSeconds: figs[0].CPUSeconds},
		{Name: "sleeper", Incarnations: 2, PeakRSSKiB: max(figs[1].PeakRSSKiB, figs[2].PeakRSSKiB), CPUSeconds: figs[1].CPUSeconds + figs[2].CPUSeconds},
	}, summarize(figs))
}

func TestProfileTiming(t *testing.T) {
	for _, tc := range []struct{ span, wait, length time.Duration }{
		{20 * time.Second, 5 * time.Second, 10 * time.Second},
		{time.Second, 250 * time.Millisecond, 2 * time.Second},
		{10 * time.Minute, 150 * time.Second, 30 * time.Second},
	} {
		wait, length := profileTiming(tc.span)
		assert.Equal(t, tc.wait, wait, "span %s", tc.span)
		assert.Equal(t, tc.length, length, "span %s", tc.span)
	}
}

// The report's JSON holds the figures at its top level.
func TestReportJSONHasTheMeasures(t *testing.T) {
	r := Report{Measures: Measures{
		Budget:             Budget{CallsPerSecond: 20, Burst: 20},
		PeakCallsPerSecond: 7,
		Cost:               map[Path]PathCost{PathValidated: {Onboardings: 1, Actions: IntStats{P50: 12, Max: 12, Mean: 12}}},
		Intake:             IntakeFigures{Overall: BucketQuantile{Count: 3, AtMost: math.Inf(1)}},
		Processes:          []ProcessFigure{{Name: "worker-1", PID: 1, PeakRSSKiB: 100, CPUSeconds: 1, Source: "exit"}},
	}}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, map[string]any{"calls_per_second": 20.0, "burst": 20.0}, got["mangopay_budget"])
	assert.Equal(t, 7.0, got["peak_mangopay_calls_per_second"])
	assert.Equal(t, 12.0, got["cost_by_path"].(map[string]any)["validated"].(map[string]any)["actions"].(map[string]any)["p50"])
	assert.Nil(t, got["bridge_intake"].(map[string]any)["overall"].(map[string]any)["p99_at_most_seconds"])
	assert.Len(t, got["processes"], 1)
}

// The simulated account's rate-limit windows fit the budget: a fleet using
// all of it never sees a window under kycflow's reserve, below which its
// background work (the fleet reconciliation, the only way back for a
// dropped webhook) waits for the window's reset. The Sandbox's own figures
// fail this within minutes of a load profile; a soak lost users to it.
func TestMangopayLimitsFitTheBudget(t *testing.T) {
	fits := func(limits [4]int, b Budget) error {
		for i, w := range sandbox.RateLimitWindows {
			used := b.CallsPerSecond*w.Seconds() + float64(b.Burst)
			if left := float64(limits[i]) - used; left < callbudget.DefaultReserve*float64(limits[i]) {
				return fmt.Errorf("the %s window: %d allowed, %.0f used at the budget, %.0f left is under the reserve", w, limits[i], used, left)
			}
		}
		return nil
	}
	for _, b := range []Budget{DefaultBudget(0.1), DefaultBudget(4), DefaultBudget(10), {CallsPerSecond: 0.3, Burst: 300}, {CallsPerSecond: 500, Burst: 50}} {
		assert.NoError(t, fits(b.mangopayLimits(), b), "budget %+v", b)
	}
	assert.Error(t, fits(sandbox.DefaultSettings().RateLimits, DefaultBudget(10)), "the Sandbox's own windows")
}
