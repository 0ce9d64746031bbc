package harness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kycflow/kycflow/internal/devtemporal"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/reconcile"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/workflows"
)

// Fault is one kind of fault the chaos injects.
type Fault string

// The fault kinds.
const (
	// FaultWorkerKill: SIGKILL a random worker, restart it a second later.
	FaultWorkerKill Fault = "worker-kill"
	// FaultBridgeKill: SIGKILL a random bridge, restart it a second later.
	FaultBridgeKill Fault = "bridge-kill"
	// Fault5xx: half the Mangopay API calls answer 503 for a window.
	Fault5xx Fault = "mangopay-5xx"
	// Fault429: half the Mangopay API calls answer 429 for a window.
	Fault429 Fault = "mangopay-429"
	// FaultLostResponses: for a window, half the Mangopay API calls fail
	// with a 503 after taking effect (a POST creates its resource and the
	// response is lost), the case idempotency keys exist for.
	FaultLostResponses Fault = "mangopay-lost-responses"
	// FaultWebhooksDuplicated: for a window, half the webhooks are sent
	// twice.
	FaultWebhooksDuplicated Fault = "webhooks-duplicated"
	// FaultWebhooksReordered: for a window, webhooks are spread over up to
	// 3 s so that they arrive out of order.
	FaultWebhooksReordered Fault = "webhooks-reordered"
	// FaultWebhooksDropped: for a window, half the webhooks are never
	// sent (Mangopay still lists their events). Only the fleet
	// reconciliation through the Events API brings them in: the run
	// shortens its interval (ReconcileEvery).
	FaultWebhooksDropped Fault = "webhooks-dropped"
	// FaultLatency: for a window, every Mangopay API call takes
	// Chaos.Latency before it is answered.
	FaultLatency Fault = "mangopay-latency"
	// FaultRedisRestart: SIGKILL the run's Redis, restart it a second
	// later on the same port and data folder (its AOF brings the data
	// back).
	FaultRedisRestart Fault = "redis-restart"
	// FaultTemporalRestart: stop the Temporal dev server, start it again
	// on the same port with the same database file.
	FaultTemporalRestart Fault = "temporal-restart"
)

// Faults lists every fault kind.
var Faults = []Fault{FaultWorkerKill, FaultBridgeKill, Fault5xx, Fault429, FaultLostResponses, FaultWebhooksDuplicated,
	FaultWebhooksReordered, FaultWebhooksDropped, FaultLatency, FaultRedisRestart, FaultTemporalRestart}

// DefaultFaults are the kinds `--chaos all` injects: those a run has been
// seen to survive with no violation.
var DefaultFaults = Faults

// DefaultFaultLatency is how long Mangopay takes to answer in a
// mangopay-latency window.
const DefaultFaultLatency = 2 * time.Second

// workflowTaskTimeout is Temporal's default workflow task timeout, which
// kycflow keeps.
const workflowTaskTimeout = 10 * time.Second

// reorderSpread is how far apart a webhooks-reordered window spreads the
// webhooks.
const reorderSpread = 3 * time.Second

// ReconcileEvery is the fleet reconciliation's interval in a run with
// dropped webhooks: the shortest RECONCILE_EVENTS_EVERY accepts, instead of
// 10 minutes, so that a dropped webhook is read from the Events API within
// a user's deadline (up to this plus the reconciliation's 30 s lag).
const ReconcileEvery = time.Minute

// Chaos is which faults a run injects, how many times each, and how long a
// Mangopay or webhook fault window lasts. The faults come at random moments
// within Span from the first onboarding (zero: the time it takes to start
// them all).
type Chaos struct {
	Kinds   []Fault
	Times   int
	Window  time.Duration
	Span    time.Duration
	Latency time.Duration // of a mangopay-latency window; zero: DefaultFaultLatency
}

func (c Chaos) has(f Fault) bool { return slices.Contains(c.Kinds, f) }

// validate reports settings the simulator would refuse.
func (c Chaos) validate() error {
	if c.Latency < 0 || c.Latency > time.Minute {
		return fmt.Errorf("--fault-latency must be between 0 and 1m, got %s", c.Latency)
	}
	if len(c.Kinds) > 0 && c.Window <= 0 {
		return fmt.Errorf("--fault-window must be above 0, got %s", c.Window)
	}
	return nil
}

// ParseChaos reads "all", "none" or a comma-separated list of kinds.
func ParseChaos(s string, times int, window time.Duration) (Chaos, error) {
	c := Chaos{Times: times, Window: window}
	switch strings.TrimSpace(s) {
	case "", "none":
		return c, nil
	case "all":
		c.Kinds = slices.Clone(DefaultFaults)
		return c, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		f := Fault(strings.TrimSpace(part))
		if !slices.Contains(Faults, f) {
			names := make([]string, len(Faults))
			for i, k := range Faults {
				names[i] = string(k)
			}
			return c, fmt.Errorf("--chaos: unknown fault %q (all, none, %s)", part, strings.Join(names, ", "))
		}
		c.Kinds = append(c.Kinds, f)
	}
	if times < 1 {
		return c, fmt.Errorf("--chaos-times must be at least 1")
	}
	return c, nil
}

// Injected is one fault the run injected, and how long the system took to
// recover from it (see recovery).
type Injected struct {
	Fault  Fault         `json:"fault"`
	At     time.Duration `json:"at_ns"` // since the first onboarding started
	Target string        `json:"target,omitempty"`
	Error  string        `json:"error,omitempty"`
	// Ended is when the fault was over: the process ready again, the
	// window closed.
	Ended time.Duration `json:"ended_ns"`
	Recovery
}

// injector runs the chaos over the driving phase.
type injector struct {
	sys   *system
	chaos Chaos
	rng   *rand.Rand
	start time.Time

	windows  sync.Mutex // one simulator fault window at a time: PUT /_sim/faults replaces them all
	temporal sync.Mutex // one Temporal restart at a time
	mu       sync.Mutex
	log      []Injected
}

// run injects each kind Times times at random moments within span, and
// returns once every fault is over (the processes restarted, the fault
// windows closed).
func (in *injector) run(ctx context.Context, span time.Duration) {
	type planned struct {
		at    time.Duration
		fault Fault
	}
	var plan []planned
	for _, k := range in.chaos.Kinds {
		for range in.chaos.Times {
			plan = append(plan, planned{time.Duration(in.rng.Int64N(int64(span) + 1)), k})
		}
	}
	sort.Slice(plan, func(i, j int) bool { return plan[i].at < plan[j].at })
	var wg sync.WaitGroup
	for _, p := range plan {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-time.After(time.Until(in.start.Add(p.at))):
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.inject(ctx, p.fault)
		}()
	}
	wg.Wait()
}

func (in *injector) inject(ctx context.Context, f Fault) {
	// The fault is logged as it begins, so that the users' deadlines
	// count it while it is on (grace).
	var rec Injected
	idx := -1
	begin := func() {
		rec.At, rec.Fault = time.Since(in.start), f
		in.mu.Lock()
		idx = len(in.log)
		in.log = append(in.log, rec)
		in.mu.Unlock()
	}
	var err error
	switch f {
	case FaultWorkerKill, FaultBridgeKill, FaultRedisRestart:
		var p *proc
		switch f {
		case FaultRedisRestart:
			p = in.sys.redis
		default:
			procs := in.sys.workers
			if f == FaultBridgeKill {
				procs = in.sys.bridges
			}
			in.mu.Lock()
			p = procs[in.rng.IntN(len(procs))]
			in.mu.Unlock()
		}
		rec.Target = p.name
		// One fault at a time on a process.
		p.chaos.Lock()
		begin()
		p.kill()
		err = in.restart(ctx, p)
		p.chaos.Unlock()
	case FaultTemporalRestart:
		in.temporal.Lock()
		begin()
		err = in.sys.restartTemporal(ctx)
		in.temporal.Unlock()
	case Fault5xx, Fault429, FaultLostResponses, FaultWebhooksDuplicated, FaultWebhooksReordered, FaultWebhooksDropped, FaultLatency:
		var faults sandbox.Faults
		switch f {
		case Fault5xx, FaultLostResponses:
			faults = sandbox.Faults{APIErrorRate: 0.5, APIErrorStatus: 503, APIErrorAfterCommit: f == FaultLostResponses}
		case Fault429:
			faults = sandbox.Faults{APIErrorRate: 0.5, APIErrorStatus: 429}
		case FaultWebhooksDuplicated:
			faults = sandbox.Faults{WebhookDuplicateRate: 0.5}
		case FaultWebhooksReordered:
			faults = sandbox.Faults{WebhookReorder: true, WebhookDelayMs: int(reorderSpread / time.Millisecond)}
		case FaultWebhooksDropped:
			faults = sandbox.Faults{WebhookDropRate: 0.5}
		case FaultLatency:
			latency := in.chaos.Latency
			if latency == 0 {
				latency = DefaultFaultLatency
			}
			faults = sandbox.Faults{APILatencyMs: int(latency / time.Millisecond)}
		}
		in.windows.Lock()
		begin()
		err = in.sys.setFaults(ctx, faults)
		if err == nil {
			time.Sleep(in.chaos.Window)
			err = in.sys.setFaults(context.WithoutCancel(ctx), sandbox.Faults{})
		}
		in.windows.Unlock()
	}
	rec.Fault, rec.Ended = f, time.Since(in.start)
	if err != nil {
		rec.Error = err.Error()
	}
	in.mu.Lock()
	if idx < 0 { // never begun: the run was interrupted first
		in.log = append(in.log, rec)
	} else {
		in.log[idx] = rec
	}
	in.mu.Unlock()
}

// grace is the time the faults injected so far grant a user that has been
// in the run since from: the time covered by the effects (from a fault's
// start to its end plus its allowance) of the faults that meet the user's
// time. Effects that overlap count once: faults at the same time hold a
// user up at the same time, and each allowance already covers what a
// fault does to the recovery from another (a dropped webhook's allows for
// a reconciliation run held up, and skipped).
func (in *injector) grace(from time.Time) time.Duration {
	now := time.Since(in.start)
	in.mu.Lock()
	type span struct{ from, to time.Duration }
	var spans []span
	for _, f := range in.log {
		end := f.Ended
		if end == 0 { // still on
			end = now
		}
		sp := span{f.At, end + in.chaos.allowance(f.Fault)}
		if in.start.Add(sp.to).Before(from) {
			continue // over before the user came
		}
		spans = append(spans, sp)
	}
	in.mu.Unlock()
	sort.Slice(spans, func(i, j int) bool { return spans[i].from < spans[j].from })
	var d time.Duration
	var cur span
	for i, sp := range spans {
		switch {
		case i == 0:
			cur = sp
		case sp.from <= cur.to:
			cur.to = max(cur.to, sp.to)
		default:
			d += cur.to - cur.from
			cur = sp
		}
	}
	if len(spans) > 0 {
		d += cur.to - cur.from
	}
	return d
}

// allowance is how long after its end a fault may still hold up a user,
// each derived from what kycflow does about that fault (its own
// constants), not from what a run happened to take.
func (c Chaos) allowance(f Fault) time.Duration {
	switch f {
	case FaultWebhooksDropped:
		// Only the fleet reconciliation brings a dropped webhook back: the
		// first run that starts reconcile.DefaultLag after the event reads
		// it, at most ReconcileEvery later; a run still going when the next
		// is due makes the schedule skip that one (overlap: skip).
		return 2*ReconcileEvery + reconcile.DefaultLag
	case Fault429:
		// A 429 that names no exhausted window pauses every process's
		// Mangopay calls (the shared budget) for this long.
		return mangopay.DefaultRateLimitPause
	case FaultWorkerKill:
		// An activity the killed worker was running is tried again once
		// its start-to-close timeout has passed.
		return workflows.MangopayActivityTimeout
	case FaultBridgeKill, FaultRedisRestart, Fault5xx, FaultLostResponses:
		// The forwarder retries what failed with a backoff of up to
		// bridge.MaxBackoff (an activity's retries, 1 s doubling, stay
		// under it within a fault window).
		return bridge.MaxBackoff
	case FaultTemporalRestart:
		// The clients come back through their own backoff, and a workflow
		// task the old server had handed out times out first.
		return bridge.MaxBackoff + workflowTaskTimeout
	case FaultLatency:
		// A step makes a few calls in a row, each that much slower.
		latency := c.Latency
		if latency == 0 {
			latency = DefaultFaultLatency
		}
		return 3 * latency
	case FaultWebhooksReordered:
		return reorderSpread
	}
	return 0 // duplicated webhooks: no wait
}

// restart starts a killed process again a second later, as an orchestrator
// restarts a crashed container, and keeps trying every second while it
// fails to start (a worker cannot start while the Temporal server it dials
// is restarting), for up to restartFor.
func (in *injector) restart(ctx context.Context, p *proc) error {
	p.mu.Lock()
	p.restarts++
	p.mu.Unlock()
	deadline := time.Now().Add(restartFor)
	for {
		time.Sleep(time.Second)
		err := p.start(ctx)
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		p.kill() // whatever is left of the failed try
	}
}

// restartFor bounds the restarts of one killed process.
const restartFor = 2 * time.Minute

// restartTemporal stops the dev server (SIGINT: it shuts down cleanly) and
// starts it again on the same frontend port with the same database file,
// as a restarted Temporal service comes back at the same address: the
// workers' and bridges' clients must find it there again by themselves.
func (s *system) restartTemporal(ctx context.Context) error {
	old := s.temporal
	hostPort := old.FrontendHostPort()
	old.Client().Close()
	// Its exit status after SIGINT says nothing useful: what matters is
	// that it is gone, which Stop waits for.
	_ = old.Stop()
	srv, err := devtemporal.Start(ctx, s.temporalOptions(hostPort))
	if err != nil {
		return fmt.Errorf("restart the Temporal dev server on %s: %w", hostPort, err)
	}
	s.temporal = srv
	return nil
}

// reconcileEnv is the workers' fleet reconciliation setting: shortened to
// ReconcileEvery in a run with dropped webhooks, the default otherwise (its
// Events API reads would count in every run's Mangopay calls).
func (s *system) reconcileEnv() []string {
	if !s.cfg.Chaos.has(FaultWebhooksDropped) {
		return nil
	}
	return []string{reconcile.EnvEvery + "=" + ReconcileEvery.String()}
}
