package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/internal/cloudactions"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

// Budget is the Mangopay call budget (package callbudget) the harness
// gives the fleet for the run: every worker and bridge gets it through
// MANGOPAY_MAX_CALLS_PER_SECOND and MANGOPAY_MAX_BURST, and the run checks
// that the calls the simulator received kept to it.
type Budget struct {
	CallsPerSecond float64 `json:"calls_per_second"`
	Burst          int     `json:"burst"`
}

// DefaultBudget is the budget of a run at rate onboardings per second: 8
// calls per onboarding per second (a path costs 3 to 9), at least 20/s,
// with a second of it as burst. It binds under the chaos's retries without
// slowing an honest run.
func DefaultBudget(rate float64) Budget {
	r := math.Max(20, math.Ceil(8*rate))
	return Budget{CallsPerSecond: r, Burst: int(r)}
}

// env is the budget as the processes read it.
func (b Budget) env() []string {
	return []string{
		callbudget.EnvCallsPerSecond + "=" + strconv.FormatFloat(b.CallsPerSecond, 'f', -1, 64),
		callbudget.EnvBurst + "=" + strconv.Itoa(b.Burst),
		// The simulated account is the fleet's alone (mangopayLimits): all
		// of what is left is kycflow's, and the windows never bind below
		// the rate.
		callbudget.EnvShare + "=1",
	}
}

// mangopayLimits sizes the simulator's rate-limit windows to the budget:
// the account the run simulates allows what the fleet is given. Mangopay's
// Sandbox figures (2,300 calls per 15 minutes) would fall under kycflow's
// reserve within minutes of a load profile, and kycflow rightly holds its
// background work, the fleet reconciliation among it, until the window
// resets: dropped webhooks would then wait up to 15 minutes. With these
// limits a fleet within its budget never reaches the reserve.
func (b Budget) mangopayLimits() [4]int {
	var out [4]int
	for i, w := range sandbox.RateLimitWindows {
		out[i] = int(math.Ceil((b.CallsPerSecond*w.Seconds() + float64(b.Burst)) / (1 - callbudget.DefaultReserve)))
	}
	return out
}

// validate reports a budget callbudget would refuse.
func (b Budget) validate() error {
	return callbudget.Config{CallsPerSecond: b.CallsPerSecond, Burst: b.Burst, Reserve: callbudget.DefaultReserve,
		Share: 1, BackgroundShare: callbudget.DefaultBackgroundShare}.Validate()
}

// budgetSlack widens every window the budget is checked over: a call the
// budget let through at t reaches the simulator a little later (a loaded
// machine, the API latency fault is applied after arrival), so calls
// admitted over W+slack can arrive within W.
const budgetSlack = time.Second

// BudgetWindow is the busiest stretch of one length the run had.
type BudgetWindow struct {
	Window   time.Duration `json:"window_ns"`
	MaxCalls int           `json:"max_calls"`
	// Allowed is the most the budget lets through in Window: the burst
	// plus the rate over Window and budgetSlack.
	Allowed int           `json:"allowed"`
	At      time.Duration `json:"at_ns"` // where it starts, since the first onboarding started
}

// budgetWindows finds, for each window length, the most calls that
// arrived within one window of it (at are arrival times, sorted, from the
// run's start).
func budgetWindows(at []time.Duration, b Budget, windows []time.Duration) []BudgetWindow {
	out := make([]BudgetWindow, 0, len(windows))
	for _, w := range windows {
		bw := BudgetWindow{Window: w, Allowed: b.Burst + int(math.Ceil(b.CallsPerSecond*(w+budgetSlack).Seconds()))}
		bw.MaxCalls, bw.At = busiest(at, w)
		out = append(out, bw)
	}
	return out
}

// busiest returns the most times within one window [t, t+w) of the
// sorted times, and where the first such window starts.
func busiest(at []time.Duration, w time.Duration) (int, time.Duration) {
	best, start := 0, time.Duration(0)
	j := 0
	for i := range at {
		for j < len(at) && at[j] < at[i]+w {
			j++
		}
		if j-i > best {
			best, start = j-i, at[i]
		}
	}
	return best, start
}

// checkWindows lists the lengths to check the budget over: a second, ten,
// a minute, five, each if the run lasted as long.
func checkWindows(run time.Duration) []time.Duration {
	out := []time.Duration{time.Second}
	for _, w := range []time.Duration{10 * time.Second, time.Minute, 5 * time.Minute} {
		if w <= run {
			out = append(out, w)
		}
	}
	return out
}

// harnessCall tells the harness's own Mangopay calls (it creates the
// users) from kycflow's.
func harnessCall(route string) bool { return strings.HasPrefix(route, "POST /sca/users/") }

// IntStats are the percentiles of a count over onboardings.
type IntStats struct {
	P50  int     `json:"p50"`
	Max  int     `json:"max"`
	Mean float64 `json:"mean"`
}

func intStats(v []int) IntStats {
	if len(v) == 0 {
		return IntStats{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	sum := 0
	for _, x := range s {
		sum += x
	}
	return IntStats{P50: s[min(len(s)-1, len(s)/2)], Max: s[len(s)-1], Mean: float64(sum) / float64(len(s))}
}

// PathCost is what one path's onboardings cost, read from the Temporal
// server (actions) and the simulator (calls).
type PathCost struct {
	Onboardings int      `json:"onboardings"`
	Actions     IntStats `json:"actions"`
	// ActionsByKind: the mean per onboarding of each kind of action.
	ActionsByKind map[string]float64 `json:"actions_by_kind"`
	MangopayCalls IntStats           `json:"mangopay_calls"`
}

// Goal is a figure the issue sets, against what the run measured.
type Goal struct {
	Limit int `json:"limit"`
	P50   int `json:"p50"`
	Max   int `json:"max"`
}

// Met says whether the typical onboarding meets the goal.
func (g Goal) Met() bool { return g.P50 <= g.Limit }

// The happy path's goals (docs/measurements/): at most 12 actions and 3 Mangopay
// calls per onboarding. Figures, not violations: no contract says it.
const (
	happyActionsGoal = 12
	happyCallsGoal   = 3
)

// Measures are the figures read from the servers after the run and
// sampled during it.
type Measures struct {
	Budget Budget `json:"mangopay_budget"`
	// BudgetSource says where Budget came from: set by the harness for
	// its own processes, or the target deployment's as given.
	BudgetSource string `json:"mangopay_budget_source,omitempty"`
	// PeakCallsPerSecond: the most kycflow calls the simulator received
	// within one second.
	PeakCallsPerSecond int            `json:"peak_mangopay_calls_per_second"`
	BudgetWindows      []BudgetWindow `json:"mangopay_budget_windows"`
	CallLogDropped     int            `json:"call_log_dropped,omitempty"`

	Cost map[Path]PathCost `json:"cost_by_path"`
	// HappyActions and HappyCalls: the validated path against its goals.
	HappyActions Goal `json:"happy_path_actions"`
	HappyCalls   Goal `json:"happy_path_mangopay_calls"`
	// HistoriesUnread: onboardings whose history could not be read (their
	// actions are not in Cost), and the first error.
	HistoriesUnread int    `json:"histories_unread,omitempty"`
	HistoryError    string `json:"history_error,omitempty"`

	// WebhookToSignal: from the simulator sending a webhook (its first
	// attempt) to the server recording the signal. WebhookToState: to the
	// first workflow task that saw it completing: from then on the state
	// (a query, GET /v1/onboardings) reflects it.
	WebhookToSignal Percentiles `json:"webhook_to_signal"`
	WebhookToState  Percentiles `json:"webhook_to_state"`
	// WebhookStages breaks WebhookToState down stage by stage.
	WebhookStages StageBreakdown `json:"webhook_stages"`
	// WebhooksUnsignalled: webhooks delivered whose event no onboarding
	// got (events kycflow skips on purpose, or lost).
	WebhooksUnsignalled int `json:"webhooks_unsignalled"`
	// DeliveryLogFull: the simulator keeps its last 10,000 deliveries;
	// older ones are not in the webhook latencies.
	DeliveryLogFull bool `json:"delivery_log_full,omitempty"`

	// MeasureError: what kept the figures read after the run from being
	// complete.
	MeasureError string `json:"measure_error,omitempty"`

	Intake    IntakeFigures   `json:"bridge_intake"`
	Processes []ProcessFigure `json:"processes"`
	Profiles  []string        `json:"profiles,omitempty"`
}

// simCallLog reads the simulator's call log from since on.
func (s *system) simCallLog(ctx context.Context, since time.Time) (sandbox.CallLog, error) {
	var log sandbox.CallLog
	err := call(ctx, http.MethodGet, s.simURL+"/_sim/calls/log?since="+strconv.FormatInt(since.UnixMilli(), 10), "", nil, &log)
	return log, err
}

// simDeliveries reads the simulator's webhook delivery log.
func (s *system) simDeliveries(ctx context.Context) ([]sandbox.Delivery, error) {
	var out []sandbox.Delivery
	if err := call(ctx, http.MethodGet, s.simURL+"/_sim/webhooks", "", nil, &out); err != nil {
		return nil, err
	}
	return s.runDeliveries(out), nil
}

// runDeliveries leaves out, against a target, the deliveries that ended
// before the run began: the deployment's own and earlier runs'.
func (s *system) runDeliveries(log []sandbox.Delivery) []sandbox.Delivery {
	if s.target == nil {
		return log
	}
	return slices.DeleteFunc(log, func(d sandbox.Delivery) bool { return d.At.Before(s.began) })
}

// callFigures computes the call rates, the budget check and each user's
// calls from the call log.
func callFigures(log []sandbox.CallRecord, began time.Time, b Budget, run time.Duration) (m Measures, perUser map[string]int) {
	perUser = map[string]int{}
	var at []time.Duration
	for _, c := range log {
		if harnessCall(c.Route) {
			continue
		}
		at = append(at, time.UnixMilli(c.At).Sub(began))
		if c.UserID != "" {
			perUser[c.UserID]++
		}
	}
	slices.Sort(at)
	m.Budget = b
	m.PeakCallsPerSecond, _ = busiest(at, time.Second)
	m.BudgetWindows = budgetWindows(at, b, checkWindows(run))
	return m, perUser
}

// budgetViolations reports each window length the calls overran.
func budgetViolations(windows []BudgetWindow, b Budget) []Violation {
	var out []Violation
	for _, w := range windows {
		if w.MaxCalls > w.Allowed {
			out = append(out, Violation{Kind: ViolationBudget, Detail: fmt.Sprintf(
				"%d Mangopay calls within %s from %s, the budget (%g/s, burst %d) allows %d",
				w.MaxCalls, w.Window, w.At.Round(time.Millisecond), b.CallsPerSecond, b.Burst, w.Allowed)})
		}
	}
	return out
}

// ViolationBudget: the fleet's Mangopay calls overran the budget.
const ViolationBudget = "budget-overrun"

// pathCosts gathers each path's actions and calls.
func pathCosts(users []*userRun, histories map[string]onboardingHistory, calls map[string]int) map[Path]PathCost {
	type acc struct {
		actions, calls []int
		kinds          map[string]int
	}
	accs := map[Path]*acc{}
	for _, u := range users {
		if u.UserID == "" {
			continue
		}
		a := accs[u.Path]
		if a == nil {
			a = &acc{kinds: map[string]int{}}
			accs[u.Path] = a
		}
		a.calls = append(a.calls, calls[u.UserID])
		h, ok := histories[u.UserID]
		if !ok || h.err != nil {
			continue
		}
		total := 0
		for _, run := range h.runs {
			for k, n := range cloudactions.Count(run) {
				a.kinds[k] += n
				total += n
			}
		}
		a.actions = append(a.actions, total)
	}
	out := map[Path]PathCost{}
	for p, a := range accs {
		c := PathCost{Onboardings: len(a.calls), Actions: intStats(a.actions), MangopayCalls: intStats(a.calls), ActionsByKind: map[string]float64{}}
		for k, n := range a.kinds {
			c.ActionsByKind[k] = float64(n) / float64(max(1, len(a.actions)))
		}
		out[p] = c
	}
	return out
}

// webhookLatencies matches each webhook's first send to the signal of its
// event in the histories.
func webhookLatencies(deliveries []sandbox.Delivery, signals []signalSeen) (toSignal, toState Percentiles, unsignalled int) {
	matched, unsignalled := matchWebhooks(deliveries, signals)
	var sig, state []time.Duration
	for _, w := range matched {
		sig = append(sig, w.recorded.Sub(w.sent))
		if !w.applied.IsZero() {
			state = append(state, w.applied.Sub(w.sent))
		}
	}
	return percentiles(sig), percentiles(state), unsignalled
}

// CallLogFile is where a run keeps the simulator's call log, in its work
// folder.
const CallLogFile = "mangopay-calls.json"

// measureAfter reads what the servers say once the run has settled: the
// simulator's call and delivery logs, every onboarding's history.
func measureAfter(ctx context.Context, sys *system, users []*userRun, began time.Time, run time.Duration, b Budget) (Measures, []Violation, error) {
	log, err := sys.simCallLog(ctx, began)
	if err != nil {
		return Measures{}, nil, fmt.Errorf("read the simulator's call log: %w", err)
	}
	// Kept for a post-mortem of the run: which calls came when.
	if raw, err := json.Marshal(log); err == nil {
		_ = os.WriteFile(filepath.Join(sys.workDir, CallLogFile), raw, 0o644)
	}
	m, perUser := callFigures(log.Calls, began, b, run)
	m.CallLogDropped = log.Dropped
	violations := budgetViolations(m.BudgetWindows, b)

	if sys.temporalAddr == "" {
		// A target given no Temporal address: no histories, so no actions
		// and no webhook latencies; the calls per path still count.
		m.Cost = pathCosts(users, nil, perUser)
		return m, violations, nil
	}
	tc, err := sys.temporalClient()
	if err != nil {
		return m, violations, fmt.Errorf("connect to Temporal to read the histories: %w", err)
	}
	defer tc.Close()
	var ids []string
	for _, u := range users {
		if u.UserID != "" {
			ids = append(ids, u.UserID)
		}
	}
	histories := fetchHistories(ctx, tc, ids)
	var signals []signalSeen
	dc := converter.GetDefaultDataConverter()
	for _, id := range ids {
		h := histories[id]
		if h.err != nil {
			if m.HistoriesUnread == 0 {
				m.HistoryError = h.err.Error()
			}
			m.HistoriesUnread++
			continue
		}
		for _, run := range h.runs {
			signals = append(signals, mangopaySignals(run, dc)...)
		}
	}
	m.Cost = pathCosts(users, histories, perUser)
	happy := m.Cost[PathValidated]
	m.HappyActions = Goal{Limit: happyActionsGoal, P50: happy.Actions.P50, Max: happy.Actions.Max}
	m.HappyCalls = Goal{Limit: happyCallsGoal, P50: happy.MangopayCalls.P50, Max: happy.MangopayCalls.Max}

	deliveries, err := sys.simDeliveries(ctx)
	if err != nil {
		return m, violations, fmt.Errorf("read the simulator's webhook deliveries: %w", err)
	}
	m.DeliveryLogFull = len(deliveries) >= 10_000
	m.WebhookToSignal, m.WebhookToState, m.WebhooksUnsignalled = webhookLatencies(deliveries, signals)
	matched, _ := matchWebhooks(deliveries, signals)
	m.WebhookStages = stageBreakdown(matched)
	return m, violations, nil
}

// waveWebhooks measures the webhooks the simulator sent since from, and
// how soon the affected users' workflows took them (their histories).
func waveWebhooks(ctx context.Context, sys *system, userIDs []string, from time.Time) WaveWebhooks {
	var out WaveWebhooks
	deliveries, err := sys.simDeliveries(ctx)
	if err != nil {
		out.Error = "read the simulator's deliveries: " + err.Error()
		return out
	}
	var recent []sandbox.Delivery
	var at []time.Duration
	for _, d := range deliveries {
		if d.SentAt.Before(from) {
			continue // dropped (no SentAt), or before the wave
		}
		recent = append(recent, d)
		if d.Attempt == 0 {
			at = append(at, d.SentAt.Sub(from))
		}
	}
	slices.Sort(at)
	out.Sent = len(at)
	out.PeakPerSecond, _ = busiest(at, time.Second)
	tc, err := sys.temporalClient()
	if err != nil {
		out.Error = "connect to Temporal: " + err.Error()
		return out
	}
	defer tc.Close()
	var signals []signalSeen
	dc := converter.GetDefaultDataConverter()
	for _, h := range fetchHistories(ctx, tc, userIDs) {
		for _, run := range h.runs {
			signals = append(signals, mangopaySignals(run, dc)...)
		}
	}
	out.ToSignal, out.ToState, out.Unsignalled = webhookLatencies(recent, signals)
	matched, _ := matchWebhooks(recent, signals)
	out.Stages = stageBreakdown(matched)
	return out
}

// monitor samples the processes and the bridges' intake every second
// while the run lasts.
type monitor struct {
	sys    *system
	procs  *procSampler
	intake *intakeScraper
	stop   chan struct{}
	done   sync.WaitGroup
	ended  sync.Once
}

// startMonitor starts sampling sys. procs may already follow processes.
func startMonitor(ctx context.Context, sys *system, procs *procSampler) *monitor {
	mo := &monitor{sys: sys, procs: procs, intake: newIntakeScraper(), stop: make(chan struct{})}
	procs.mu.Lock()
	procs.procs = sys.allProcs
	procs.mu.Unlock()
	if sys.target != nil {
		// A target's bridges served webhooks before the run: only what
		// they count from now on is the run's.
		for i, u := range sys.target.BridgeMetrics {
			if bs, err := scrapeIntake(ctx, u); err == nil {
				mo.intake.baseline(targetBridgeID(i), time.Now(), bs)
			}
		}
	}
	mo.done.Add(1)
	go func() {
		defer mo.done.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		prev := time.Now()
		for {
			mo.procs.sample()
			mo.scrape(ctx, prev)
			prev = time.Now()
			select {
			case <-mo.stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return mo
}

// targetBridgeID keys a target's bridge (--bridge-metrics) in the intake
// scraper, apart from any process ID.
func targetBridgeID(i int) int { return -1 - i }

// scrape reads every bridge's intake histogram once.
func (mo *monitor) scrape(ctx context.Context, prevRound time.Time) {
	if mo.sys.target != nil {
		for i, u := range mo.sys.target.BridgeMetrics {
			bs, err := scrapeIntake(ctx, u)
			if err != nil {
				mo.intake.failed()
				continue
			}
			mo.intake.add(targetBridgeID(i), time.Now(), prevRound, bs)
		}
		return
	}
	for _, b := range mo.sys.bridges {
		b.mu.Lock()
		cmd := b.cmd
		b.mu.Unlock()
		if cmd == nil || cmd.Process == nil {
			continue
		}
		// The metrics are on the internal address, beside /readyz.
		bs, err := scrapeIntake(ctx, strings.TrimSuffix(b.ready, "/readyz")+"/metrics")
		if err != nil {
			mo.intake.failed()
			continue
		}
		mo.intake.add(cmd.Process.Pid, time.Now(), prevRound, bs)
	}
}

// end stops sampling, after a last sample. It may be called again.
func (mo *monitor) end() {
	mo.ended.Do(func() {
		close(mo.stop)
		mo.done.Wait()
		mo.procs.sample()
	})
}

// allProcs lists the system's processes the harness started.
func (s *system) allProcs() []*proc {
	out := append([]*proc{}, s.workers...)
	out = append(out, s.bridges...)
	if s.sim != nil {
		out = append(out, s.sim)
	}
	return out
}

// faultWindows are the stretches of the run a fault was on: each fault
// from its moment for the fault window (a killed process is restarted a
// second after the kill, and ready soon after).
func faultWindows(faults []Injected, began time.Time, length time.Duration) []window {
	out := make([]window, 0, len(faults))
	for _, f := range faults {
		from := began.Add(f.At)
		out = append(out, window{from: from, to: from.Add(length)})
	}
	return out
}

// callRate gives the progress line the Mangopay calls per second since
// its last line.
type callRate struct {
	sys   *system
	since time.Time
}

func (c *callRate) next(now time.Time) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	log, err := c.sys.simCallLog(ctx, c.since)
	if err != nil {
		return "?"
	}
	n := 0
	for _, rec := range log.Calls {
		if rec.At < now.UnixMilli() && !harnessCall(rec.Route) {
			n++
		}
	}
	rate := float64(n) / now.Sub(c.since).Seconds()
	c.since = now
	return strconv.FormatFloat(rate, 'f', 1, 64)
}

// table writes the figures for a person.
func (m *Measures) table(w io.Writer) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
	source := m.BudgetSource
	if source == "" {
		source = "set by the harness for this run"
	}
	fmt.Fprintf(w, "Mangopay budget\t%g calls/s, burst %d (%s)\n", m.Budget.CallsPerSecond, m.Budget.Burst, source)
	fmt.Fprintf(w, "peak Mangopay calls\t%d in one second\n", m.PeakCallsPerSecond)
	for _, bw := range m.BudgetWindows {
		verdict := "within"
		if bw.MaxCalls > bw.Allowed {
			verdict = "OVER"
		}
		fmt.Fprintf(w, "  busiest %s\t%d calls from %s, %s the %d allowed\n", bw.Window, bw.MaxCalls, bw.At.Round(time.Second), verdict, bw.Allowed)
	}
	if m.CallLogDropped > 0 {
		fmt.Fprintf(w, "  (the simulator's call log dropped its %d oldest calls)\n", m.CallLogDropped)
	}
	fmt.Fprintf(w, "cost per onboarding\tTemporal actions (from the server's histories) p50/max/mean; Mangopay calls p50/max/mean\n")
	for _, p := range Paths {
		c, ok := m.Cost[p]
		if !ok {
			continue
		}
		kinds := make([]string, 0, len(c.ActionsByKind))
		for _, k := range slices.Sorted(maps.Keys(c.ActionsByKind)) {
			kinds = append(kinds, fmt.Sprintf("%s %.1f", k, c.ActionsByKind[k]))
		}
		fmt.Fprintf(w, "  %s (%d)\tactions %d/%d/%.1f; calls %d/%d/%.1f\n", p, c.Onboardings,
			c.Actions.P50, c.Actions.Max, c.Actions.Mean, c.MangopayCalls.P50, c.MangopayCalls.Max, c.MangopayCalls.Mean)
		fmt.Fprintf(w, "  \t%s\n", strings.Join(kinds, ", "))
	}
	if _, ok := m.Cost[PathValidated]; ok && m.HappyActions.Limit > 0 {
		goal := func(g Goal) string {
			if g.Met() {
				return fmt.Sprintf("p50 %d, max %d: goal <= %d met", g.P50, g.Max, g.Limit)
			}
			return fmt.Sprintf("p50 %d, max %d: goal <= %d MISSED by %d", g.P50, g.Max, g.Limit, g.P50-g.Limit)
		}
		fmt.Fprintf(w, "happy path actions\t%s\n", goal(m.HappyActions))
		fmt.Fprintf(w, "happy path Mangopay calls\t%s\n", goal(m.HappyCalls))
	}
	if m.HistoriesUnread > 0 {
		fmt.Fprintf(w, "histories unread\t%d (%s)\n", m.HistoriesUnread, m.HistoryError)
	}
	fmt.Fprintf(w, "webhook to signal\tp50 %s, p99 %s, max %s (%d)\n", ms(m.WebhookToSignal.P50), ms(m.WebhookToSignal.P99), ms(m.WebhookToSignal.Max), m.WebhookToSignal.Count)
	fmt.Fprintf(w, "webhook to state\tp50 %s, p99 %s, max %s (%d; %d webhooks delivered and never signalled)\n",
		ms(m.WebhookToState.P50), ms(m.WebhookToState.P99), ms(m.WebhookToState.Max), m.WebhookToState.Count, m.WebhooksUnsignalled)
	m.WebhookStages.Table(w, "  ")
	if m.DeliveryLogFull {
		fmt.Fprintf(w, "  (the simulator keeps its last 10,000 deliveries: older webhooks are not in these)\n")
	}
	bq := func(q BucketQuantile) string {
		if q.Count == 0 {
			return "no webhooks"
		}
		if math.IsInf(q.AtMost, 1) {
			return fmt.Sprintf("p99 over the last bucket (%d)", q.Count)
		}
		return fmt.Sprintf("p99 <= %s (%d)", ms(time.Duration(q.AtMost*float64(time.Second))), q.Count)
	}
	fmt.Fprintf(w, "bridge intake\t%s; during faults %s; %d scrapes failed\n", bq(m.Intake.Overall), bq(m.Intake.DuringFaults), m.Intake.ScrapeErrors)
	for _, s := range summarize(m.Processes) {
		fmt.Fprintf(w, "process %s\tpeak RSS %.1f MiB, CPU %.1f s (%d incarnations)\n", s.Name, float64(s.PeakRSSKiB)/1024, s.CPUSeconds, s.Incarnations)
	}
	for _, p := range m.Profiles {
		fmt.Fprintf(w, "profile\t%s\n", p)
	}
	if m.MeasureError != "" {
		fmt.Fprintf(w, "measures incomplete\t%s\n", m.MeasureError)
	}
}
