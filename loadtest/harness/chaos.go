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

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
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
	// 3 s so that they arrive out of order. (Dropped webhooks are not a
	// fault kind yet: kycflow's first reconciliation read comes after 15
	// minutes, longer than a profile's deadline.)
	FaultWebhooksReordered Fault = "webhooks-reordered"
)

// Faults lists every fault kind.
var Faults = []Fault{FaultWorkerKill, FaultBridgeKill, Fault5xx, Fault429, FaultLostResponses, FaultWebhooksDuplicated, FaultWebhooksReordered}

// Chaos is which faults a run injects, how many times each, and how long a
// Mangopay fault window lasts. The faults come at random moments within
// Span from the first onboarding (zero: the time it takes to start them
// all).
type Chaos struct {
	Kinds  []Fault
	Times  int
	Window time.Duration
	Span   time.Duration
}

// ParseChaos reads "all", "none" or a comma-separated list of kinds.
func ParseChaos(s string, times int, window time.Duration) (Chaos, error) {
	c := Chaos{Times: times, Window: window}
	switch strings.TrimSpace(s) {
	case "", "none":
		return c, nil
	case "all":
		c.Kinds = slices.Clone(Faults)
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

// Injected is one fault the run injected.
type Injected struct {
	Fault  Fault         `json:"fault"`
	At     time.Duration `json:"at_ns"` // since the first onboarding started
	Target string        `json:"target,omitempty"`
	Error  string        `json:"error,omitempty"`
}

// injector runs the chaos over the driving phase.
type injector struct {
	sys   *system
	chaos Chaos
	rng   *rand.Rand
	start time.Time

	windows sync.Mutex // one simulator fault window at a time: PUT /_sim/faults replaces them all
	mu      sync.Mutex
	log     []Injected
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
	rec := Injected{Fault: f, At: time.Since(in.start)}
	var err error
	switch f {
	case FaultWorkerKill, FaultBridgeKill:
		procs := in.sys.workers
		if f == FaultBridgeKill {
			procs = in.sys.bridges
		}
		in.mu.Lock()
		p := procs[in.rng.IntN(len(procs))]
		in.mu.Unlock()
		rec.Target = p.name
		p.kill()
		// An orchestrator restarts a crashed container after a moment.
		time.Sleep(time.Second)
		p.mu.Lock()
		p.restarts++
		p.mu.Unlock()
		err = p.start(ctx)
	case Fault5xx, Fault429, FaultLostResponses, FaultWebhooksDuplicated, FaultWebhooksReordered:
		var faults sandbox.Faults
		switch f {
		case Fault5xx, FaultLostResponses:
			faults = sandbox.Faults{APIErrorRate: 0.5, APIErrorStatus: 503, APIErrorAfterCommit: f == FaultLostResponses}
		case Fault429:
			faults = sandbox.Faults{APIErrorRate: 0.5, APIErrorStatus: 429}
		case FaultWebhooksDuplicated:
			faults = sandbox.Faults{WebhookDuplicateRate: 0.5}
		case FaultWebhooksReordered:
			faults = sandbox.Faults{WebhookReorder: true, WebhookDelayMs: 3000}
		}
		in.windows.Lock()
		err = in.sys.setFaults(ctx, faults)
		if err == nil {
			time.Sleep(in.chaos.Window)
			err = in.sys.setFaults(context.WithoutCancel(ctx), sandbox.Faults{})
		}
		in.windows.Unlock()
	}
	if err != nil {
		rec.Error = err.Error()
	}
	in.mu.Lock()
	in.log = append(in.log, rec)
	in.mu.Unlock()
}
