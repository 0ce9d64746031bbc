package harness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/reconcile"
)

// Run builds the binaries (unless bins is given), starts the system,
// drives cfg.Users onboardings with the chaos, checks them and stops
// everything. The report holds the violations; err is for a run that could
// not be made.
func Run(ctx context.Context, cfg Config, bins *Binaries) (*Report, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	workDir := cfg.WorkDir
	if workDir == "" {
		var err error
		if workDir, err = os.MkdirTemp("", "kycflow-loadtest-"); err != nil {
			return nil, fmt.Errorf("work folder: %w", err)
		}
	}
	if bins == nil && cfg.Target == nil {
		b, err := Build(ctx, cfg.ModuleDir, filepath.Join(workDir, "bin"))
		if err != nil {
			return nil, err
		}
		bins = &b
	}
	// Every process's figures, its exit included: filled in once the
	// system has stopped (this runs after sys.stop).
	procs := newProcSampler()
	var r *Report
	defer func() {
		procs.finish()
		// A target's processes are not the harness's (its children, in a
		// test that starts the deployment in-process, are not the target's).
		if r != nil && cfg.Target == nil {
			r.Processes = procs.figures()
		}
	}()
	var sys *system
	var err error
	if cfg.Target != nil {
		if sys, err = attach(ctx, cfg, workDir); err != nil {
			return nil, err
		}
		// Leave the simulator as it was found: no fault window open.
		defer func() { _ = sys.setFaults(context.WithoutCancel(ctx), sandbox.Faults{}) }()
	} else if sys, err = start(ctx, cfg, *bins, workDir); err != nil {
		return nil, fmt.Errorf("start the system (logs in %s): %w", workDir, err)
	}
	defer sys.stop()
	if cfg.Progress != nil && cfg.Target != nil {
		fmt.Fprintf(cfg.Progress, "target %s: driving and observing a running deployment (%s); the harness starts no process\n", cfg.Target.Name, sys.observedBy())
		if cfg.Chaos.has(FaultWebhooksDropped) {
			fmt.Fprintf(cfg.Progress, "webhooks-dropped: only the deployment's fleet reconciliation (%s, default %s) brings a dropped webhook back; --user-deadline (%s) must cover it\n",
				reconcile.EnvEvery, reconcile.DefaultEvery, cfg.UserDeadline)
		}
	} else if cfg.Progress != nil && cfg.Chaos.has(FaultWebhooksDropped) {
		fmt.Fprintf(cfg.Progress, "webhooks-dropped: the fleet reconciliation is shortened to every %s (%s; default %s) so that dropped webhooks come back within a user's deadline\n",
			ReconcileEvery, reconcile.EnvEvery, reconcile.DefaultEvery)
	}
	if cfg.Progress != nil && cfg.SessionLifetime > 0 {
		fmt.Fprintf(cfg.Progress, "session lifetime: shortened to %s (Mangopay: 7 days) for the expired path; every IDV session not decided within it expires\n",
			cfg.SessionLifetime)
	}
	mon := startMonitor(ctx, sys, procs)
	defer mon.end() // on an early return; before sys.stop
	// Setup's calls (the hooks) are not the onboardings'.
	baseline, err := sys.simCalls(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the simulator's call counts: %w", err)
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6b796366))

	users := make([]*userRun, cfg.Users)
	counts := map[Path]int{}
	for i, p := range cfg.Mix.assign(cfg.Users, rng) {
		users[i] = &userRun{Index: i, Path: p}
		counts[p]++
	}
	in := &injector{sys: sys, chaos: cfg.Chaos, rng: rng}
	d := &driver{sys: sys, deadline: cfg.UserDeadline, done: ctx.Done(), grace: in.grace}

	began := time.Now()
	in.start, sys.began = began, began
	span := cfg.Chaos.Span
	if span == 0 {
		span = time.Duration(float64(cfg.Users) / cfg.Rate * float64(time.Second))
	}
	var chaosDone sync.WaitGroup
	chaosDone.Add(1)
	go func() { defer chaosDone.Done(); in.run(ctx, span) }()
	var profiles []string
	if cfg.PprofDir != "" {
		wait, length := profileTiming(span)
		chaosDone.Add(1)
		go func() { defer chaosDone.Done(); profiles = sys.takeProfiles(ctx, cfg.PprofDir, wait, length) }()
	}
	stopProgress := progress(cfg, users, sys, began)

	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	for i, u := range users {
		if i > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(time.Until(began.Add(time.Duration(i) * interval))):
			}
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() { defer wg.Done(); d.run(ctx, u) }()
	}
	wg.Wait()
	chaosDone.Wait()
	elapsed := time.Since(began)
	stopProgress()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted: %w", ctx.Err())
	}

	// Let late notifications land before reading the final statuses.
	select {
	case <-ctx.Done():
	case <-time.After(cfg.Settle):
	}
	calls, err := sys.simCalls(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the simulator's call counts: %w", err)
	}
	mon.end()
	measures, overruns, err := measureAfter(ctx, sys, users, began, elapsed, cfg.Budget)
	if err != nil {
		measures.MeasureError = err.Error()
	}
	measures.Intake = mon.intake.figures(faultWindows(in.log, began, cfg.Chaos.Window))
	if cfg.Target != nil {
		measures.BudgetSource = "the deployment's, as --budget-rate and --budget-burst give it"
		if cfg.Budget == cfg.Target.Budget {
			measures.BudgetSource = "make dev's default, stack.DevBudget: give --budget-rate and --budget-burst if its " +
				callbudget.EnvCallsPerSecond + " or " + callbudget.EnvBurst + " were set"
		}
	}
	measures.Profiles = profiles
	violations := append(check(ctx, sys, users), overruns...)

	r = &Report{
		Users: cfg.Users, Workers: cfg.Workers, Bridges: cfg.Bridges, Rate: cfg.Rate, Mix: cfg.Mix.String(), PathCounts: counts,
		Seed: cfg.Seed, Elapsed: elapsed, CallsByRoute: map[string]int{}, Faults: in.log, Restarts: map[string]int{},
		Violations: violations, WorkDir: workDir, Measures: measures, SessionLifetime: cfg.SessionLifetime,
	}
	// A failed run explains itself: the story of each user a check named.
	r.Stories = tellStories(ctx, sys, users, violations, in.log, began, workDir)
	var signup, reaction []time.Duration
	var lastDone time.Time
	for _, u := range users {
		u.mu.Lock()
		if u.Signup > 0 {
			signup = append(signup, u.Signup)
		}
		reaction = append(reaction, u.Reactions...)
		if u.Done {
			r.Completed++
			if u.DoneAt.After(lastDone) {
				lastDone = u.DoneAt
			}
		}
		u.mu.Unlock()
	}
	if r.Completed > 0 {
		r.PerSecond = float64(r.Completed) / lastDone.Sub(began).Seconds()
	}
	r.Signup, r.Reaction = percentiles(signup), percentiles(reaction)
	for route, n := range calls {
		// The harness's own calls are left out: it creates the users (the
		// session lists of the check come after the counts were read).
		if strings.HasPrefix(route, "POST /sca/users/") {
			continue
		}
		if n -= baseline[route]; n > 0 {
			r.CallsByRoute[route] = n
			r.MangopayAPI += n
		}
	}
	r.PerOnboarding = float64(r.MangopayAPI) / float64(cfg.Users)
	// Faults and recovery (see Recovery).
	measureRecovery(r.Faults, users, began)
	if cfg.Chaos.has(FaultWebhooksDropped) {
		if cfg.Target == nil {
			r.ReconcileEvery = ReconcileEvery
		}
		if r.WebhooksDropped, err = sys.droppedWebhooks(ctx); err != nil {
			return nil, fmt.Errorf("read the simulator's delivery log: %w", err)
		}
		if tc, err := sys.temporalClient(); err == nil {
			r.Reconciliations, err = reconcileRuns(ctx, tc, began)
			tc.Close()
			if err != nil && measures.MeasureError == "" {
				r.MeasureError = err.Error()
			}
		}
	}
	for _, p := range append(append([]*proc{sys.redis}, sys.workers...), sys.bridges...) {
		if p == nil {
			continue // against a target: no process of the harness's
		}
		p.mu.Lock()
		r.Restarts[p.name] = p.restarts
		p.mu.Unlock()
	}
	total, _ := sys.obs.counts()
	r.Notifications = total
	if cfg.Target != nil {
		r.Target = targetReport(cfg.Target, sys)
		r.Workers, r.Bridges = 0, 0
	}
	return r, nil
}

// progress prints a line every cfg.ProgressEvery until the returned
// function is called.
func progress(cfg Config, users []*userRun, sys *system, began time.Time) func() {
	if cfg.Progress == nil {
		return func() {}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(cfg.ProgressEvery)
		defer t.Stop()
		prev, prevAt := 0, began
		calls := callRate{sys: sys, since: began}
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				done, lost, started := 0, 0, 0
				for _, u := range users {
					u.mu.Lock()
					switch {
					case u.Done:
						done++
					case u.Lost != "":
						lost++
					}
					if !u.Started.IsZero() {
						started++
					}
					u.mu.Unlock()
				}
				notes, _ := sys.obs.counts()
				rate := float64(done-prev) / now.Sub(prevAt).Seconds()
				prev, prevAt = done, now
				fmt.Fprintf(cfg.Progress, "[%s] %d/%d done, %d in flight, %d lost, %.1f done/s, %d notifications, %s Mangopay calls/s\n",
					now.Sub(began).Round(time.Second), done, len(users), started-done-lost, lost, rate, notes, calls.next(now))
			}
		}
	}()
	return func() { close(stop); wg.Wait() }
}
