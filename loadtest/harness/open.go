package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/kycflow/kycflow/internal/pprofserve"
	"github.com/kycflow/kycflow/worker/kycworker"
)

// OpenConfig is the "open onboardings" profile: Users signups brought to
// AWAITING_USER with one worker and left open (nobody completes a session),
// the worker's memory sampled against how many are open, then the cost of
// a sticky-cache miss measured on the open onboardings.
type OpenConfig struct {
	// System: Users, Bridges, Redis, WorkDir, WorkerEnv (the sticky cache
	// and pollers under test), Progress. Workers is always 1: the figure is
	// one worker's memory.
	System Config
	// Concurrency is how many signups run at once.
	Concurrency int
	// Step is the curve's resolution: one memory sample every Step open
	// onboardings.
	Step int
	// Hold is how long the open onboardings are left alone before the last
	// sample (the notifications and timers they start settle).
	Hold time.Duration
	// MissSamples is how many onboardings the cache-miss measurement
	// touches (each twice: evicted, then cached); 0 skips it.
	MissSamples int
	// BudgetRate and BudgetBurst are the Mangopay call budget of the run:
	// each signup costs two calls.
	BudgetRate  float64
	BudgetBurst int
	// HeapProfile saves the worker's pprof heap profile at the end.
	HeapProfile bool
}

// Defaults fills the zero fields.
func (c *OpenConfig) Defaults() {
	c.System.Workers = 1
	if c.System.Bridges == 0 {
		c.System.Bridges = 1
	}
	if c.System.Users == 0 {
		c.System.Users = 1000
	}
	if c.System.UserDeadline == 0 {
		c.System.UserDeadline = 5 * time.Minute
	}
	// Every user is a validated signup: the mixed profile's default mix
	// (its expired path shortens every session's lifetime) is not theirs.
	c.System.Mix = Mix{PathValidated: 1}
	c.System.Defaults()
	if c.Concurrency == 0 {
		c.Concurrency = 16
	}
	if c.Step == 0 {
		c.Step = 500
	}
	if c.Hold == 0 {
		c.Hold = 10 * time.Second
	}
	if c.BudgetRate == 0 {
		c.BudgetRate = 1000
	}
	if c.BudgetBurst == 0 {
		c.BudgetBurst = 1000
	}
}

// Validate reports a profile that cannot run.
func (c *OpenConfig) Validate() error {
	errs := []error{c.System.Validate()}
	if c.Concurrency < 1 || c.Concurrency > 1000 {
		errs = append(errs, errors.New("--concurrency must be 1 to 1000"))
	}
	if c.Step < 1 {
		errs = append(errs, errors.New("--step must be at least 1"))
	}
	if c.Hold < 0 {
		errs = append(errs, errors.New("--hold cannot be negative"))
	}
	if c.MissSamples < 0 {
		errs = append(errs, errors.New("--miss-samples cannot be negative"))
	}
	if c.BudgetRate <= 0 || c.BudgetBurst < 1 {
		errs = append(errs, errors.New("--budget-rate must be above 0 and --budget-burst at least 1"))
	}
	return errors.Join(errs...)
}

// CurvePoint is the worker's memory with Open onboardings open.
type CurvePoint struct {
	Open int           `json:"open"`
	At   time.Duration `json:"at_ns"` // since the first signup
	Mem  Mem           `json:"mem"`
	// The Go runtime's view (-1: not read): heap and goroutine stacks.
	HeapInuse  int64 `json:"go_heap_inuse_bytes"`
	StackInuse int64 `json:"go_stack_inuse_bytes"`
	Goroutines int   `json:"goroutines"`
	Cached     int   `json:"sticky_cache_size"` // workflows in the sticky cache (-1: not read)
}

// curve takes one sample each time the count of open onboardings reaches
// the next multiple of step.
type curve struct {
	step   int
	next   int
	points []CurvePoint
}

func newCurve(step int) *curve { return &curve{step: step, next: step} }

// due reports whether open has reached the next sample, and moves the
// next one past it (open may jump several steps at once).
func (c *curve) due(open int) bool {
	if open < c.next {
		return false
	}
	c.next = (open/c.step + 1) * c.step
	return true
}

func (c *curve) add(p CurvePoint) { c.points = append(c.points, p) }

// Latencies of a kind of request, with the CPU the worker spent on them.
type Latencies struct {
	Percentiles
	WorkerCPU time.Duration `json:"worker_cpu_ns"` // over all of them
	PerCall   time.Duration `json:"worker_cpu_per_call_ns"`
	// Sticky-cache hits and misses the worker counted meanwhile.
	Hits   int `json:"sticky_cache_hits"`
	Misses int `json:"sticky_cache_misses"`
}

// CacheMiss compares an update (POST /v1/onboardings answering the open
// session: the ensure-session update) on onboardings evicted from the
// sticky cache with the same update on the same onboardings once cached.
type CacheMiss struct {
	Skipped string    `json:"skipped,omitempty"`
	Evicted Latencies `json:"evicted"`
	Cached  Latencies `json:"cached"`
}

// OpenReport is the profile's figures.
type OpenReport struct {
	Users       int               `json:"users"`
	Opened      int               `json:"opened"`
	Failed      int               `json:"failed"`
	FirstError  string            `json:"first_error,omitempty"`
	WorkerEnv   []string          `json:"worker_env"`
	Concurrency int               `json:"concurrency"`
	Elapsed     time.Duration     `json:"signup_phase_ns"`
	PerSecond   float64           `json:"signups_per_second"`
	Signup      Percentiles       `json:"signup_to_hosted_url"`
	Curve       []CurvePoint      `json:"curve"`
	Held        CurvePoint        `json:"after_hold"`
	WorkerCPU   time.Duration     `json:"worker_cpu_signups_ns"`
	Calls       int               `json:"mangopay_calls"`
	Miss        CacheMiss         `json:"cache_miss"`
	HeapProfile string            `json:"heap_profile,omitempty"`
	Notes       map[string]string `json:"notes,omitempty"`
	WorkDir     string            `json:"work_dir"`
}

// RunOpen runs the open-onboardings profile.
func RunOpen(ctx context.Context, cfg OpenConfig, bins *Binaries) (*OpenReport, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The processes' budget, and the simulated account's windows sized to it.
	cfg.System.Budget = Budget{CallsPerSecond: cfg.BudgetRate, Burst: cfg.BudgetBurst}
	var pprofAddr string
	if cfg.HeapProfile {
		var err error
		if pprofAddr, err = freeAddr(); err != nil {
			return nil, err
		}
		cfg.System.WorkerEnv = append(cfg.System.WorkerEnv, pprofserve.EnvAddr+"="+pprofAddr)
	}
	sys, workDir, err := startFleet(ctx, cfg.System, bins)
	if err != nil {
		return nil, err
	}
	defer sys.stop()
	w := sys.workers[0]
	r := &OpenReport{Users: cfg.System.Users, WorkerEnv: cfg.System.WorkerEnv, Concurrency: cfg.Concurrency, WorkDir: workDir,
		Notes: map[string]string{}}
	before, err := sys.simCalls(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the simulator's call counts: %w", err)
	}
	cpu0, err := w.cpu()
	if err != nil {
		return nil, err
	}

	sample := func(open int, began time.Time) CurvePoint {
		p := CurvePoint{Open: open, At: time.Since(began), HeapInuse: -1, StackInuse: -1, Goroutines: -1, Cached: -1}
		p.Mem, _ = w.mem()
		if m, err := w.scrape(ctx); err == nil {
			p.HeapInuse = int64(m.gauge("go_memstats_heap_inuse_bytes"))
			p.StackInuse = int64(m.gauge("go_memstats_stack_inuse_bytes"))
			p.Goroutines = int(m.gauge("go_goroutines"))
			p.Cached = int(m.gauge("temporal_sticky_cache_size"))
		}
		return p
	}
	d := &driver{sys: sys, deadline: cfg.System.UserDeadline, done: ctx.Done()}
	cv := newCurve(cfg.Step)
	var mu sync.Mutex
	var opened []signedUp
	began := time.Now()
	stopProgress := fleetProgress(cfg.System, "open", func() string {
		mu.Lock()
		defer mu.Unlock()
		m, _ := w.mem()
		return fmt.Sprintf("%d/%d open, worker RSS %s", len(opened), cfg.System.Users, mib(m.RSS))
	})
	cv.add(sample(0, began))
	failed, firstErr := signUp(ctx, d, cfg.System.Users, cfg.Concurrency, cfg.System.UserDeadline, func(s signedUp) {
		mu.Lock()
		defer mu.Unlock()
		opened = append(opened, s)
		if cv.due(len(opened)) {
			cv.add(sample(len(opened), began))
		}
	})
	r.Elapsed = time.Since(began)
	stopProgress()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted: %w", ctx.Err())
	}
	r.Opened, r.Failed = len(opened), failed
	if firstErr != nil {
		r.FirstError = firstErr.Error()
	}
	if r.Opened > 0 {
		r.PerSecond = float64(r.Opened) / r.Elapsed.Seconds()
	}
	if last := cv.points[len(cv.points)-1]; last.Open != r.Opened {
		cv.add(sample(r.Opened, began))
	}
	r.Curve = cv.points
	took := make([]time.Duration, len(opened))
	for i, s := range opened {
		took[i] = s.Took
	}
	r.Signup = percentiles(took)
	if cpu1, err := w.cpu(); err == nil {
		r.WorkerCPU = cpu1 - cpu0
	}

	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("interrupted: %w", ctx.Err())
	case <-time.After(cfg.Hold):
	}
	r.Held = sample(r.Opened, began)
	after, err := sys.simCalls(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the simulator's call counts: %w", err)
	}
	r.Calls = onboardingCalls(after) - onboardingCalls(before)

	if cfg.HeapProfile {
		path := filepath.Join(workDir, "worker-heap.pprof")
		if err := fetchProfile(ctx, "http://"+pprofAddr+"/debug/pprof/heap?gc=1", path, time.Minute); err != nil {
			r.Notes["heap_profile"] = fmt.Sprintf("%s heap profile: %v", w.name, err)
		} else {
			r.HeapProfile = path
		}
	}

	r.Miss = measureMiss(ctx, d, w, opened, cfg)
	return r, nil
}

// missBlock is how many onboardings are updated evicted, then again
// cached, in a row: the two kinds alternate in blocks so that a change in
// the machine's load falls on both.
const missBlock = 20

// metricsFlush is how long the worker takes to publish its SDK metrics
// (kycworker.NewMetrics reports every second), with a margin.
const metricsFlush = 1500 * time.Millisecond

// measureMiss updates onboardings evicted from the sticky cache, then the
// same ones again now cached, block by block.
func measureMiss(ctx context.Context, d *driver, w *proc, opened []signedUp, cfg OpenConfig) CacheMiss {
	size := 0
	for _, kv := range cfg.System.WorkerEnv {
		if v, ok := strings.CutPrefix(kv, "WORKER_STICKY_CACHE_SIZE="); ok {
			_, _ = fmt.Sscan(v, &size)
		}
	}
	if size == 0 {
		// The worker's own default: it runs on this machine, under the
		// same memory limit.
		size = kycworker.StickyCacheSizeFor(kycworker.MemoryLimit())
	}
	n := missSampleCount(cfg.MissSamples, len(opened), size)
	switch {
	case cfg.MissSamples == 0:
		return CacheMiss{Skipped: "--miss-samples 0"}
	case n < missBlock:
		return CacheMiss{Skipped: fmt.Sprintf("too few evicted onboardings: %d open, a cache of %d", len(opened), size)}
	}
	// The oldest signups are the ones evicted: the cache keeps the most
	// recently used. Half of them are sampled, in random order.
	byAge := slices.Clone(opened)
	slices.SortFunc(byAge, func(a, b signedUp) int { return a.At.Compare(b.At) })
	pool := byAge[:(len(opened)-size)/2]
	rng := rand.New(rand.NewPCG(uint64(cfg.System.Seed), 0x6d697373))
	rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	pool = pool[:n]

	var out CacheMiss
	var cold, hot []time.Duration
	// The worker's SDK metrics are flushed to /metrics every second: wait
	// that long for the counts of what came before.
	settled := func() (metrics, error) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(metricsFlush):
		}
		return w.scrape(ctx)
	}
	m0, err := settled()
	if err != nil {
		return CacheMiss{Skipped: "failed: " + err.Error()}
	}
	measure := func(block []signedUp, into *[]time.Duration, l *Latencies) error {
		c0, err := w.cpu()
		if err != nil {
			return err
		}
		for _, s := range block {
			t := time.Now()
			res, err := d.ensure(ctx, s.UserID, "", fixed(time.Now().Add(time.Minute)))
			if err != nil {
				return err
			}
			if res.IdvSessionID != s.Session.IdvSessionID {
				return fmt.Errorf("user %s: the open session changed from %s to %s", s.UserID, s.Session.IdvSessionID, res.IdvSessionID)
			}
			*into = append(*into, time.Since(t))
		}
		c1, err := w.cpu()
		if err != nil {
			return err
		}
		m1, err := settled()
		if err != nil {
			return err
		}
		l.WorkerCPU += c1 - c0
		l.Hits += int(m1.counter("temporal_sticky_cache_hit") - m0.counter("temporal_sticky_cache_hit"))
		l.Misses += int(m1.counter("temporal_sticky_cache_miss") - m0.counter("temporal_sticky_cache_miss"))
		m0 = m1
		return nil
	}
	for i := 0; i+missBlock <= len(pool); i += missBlock {
		block := pool[i : i+missBlock]
		if err := measure(block, &cold, &out.Evicted); err != nil {
			return CacheMiss{Skipped: "failed: " + err.Error()}
		}
		if err := measure(block, &hot, &out.Cached); err != nil {
			return CacheMiss{Skipped: "failed: " + err.Error()}
		}
	}
	out.Evicted.Percentiles, out.Cached.Percentiles = percentiles(cold), percentiles(hot)
	out.Evicted.PerCall = out.Evicted.WorkerCPU / time.Duration(max(1, len(cold)))
	out.Cached.PerCall = out.Cached.WorkerCPU / time.Duration(max(1, len(hot)))
	return out
}

// missSampleCount is how many onboardings the cache-miss measurement can
// use: at most want, within the older half of those evicted (open - size),
// at most half the cache (a block updated evicted must still be cached when
// it is updated again), in whole blocks.
func missSampleCount(want, open, size int) int {
	if size <= 0 || open <= size {
		return 0
	}
	n := min(want, (open-size)/2, size/2)
	return n / missBlock * missBlock
}

// startFleet builds the binaries if needed and starts the system.
func startFleet(ctx context.Context, cfg Config, bins *Binaries) (*system, string, error) {
	workDir := cfg.WorkDir
	if workDir == "" {
		var err error
		if workDir, err = os.MkdirTemp("", "kycflow-loadtest-"); err != nil {
			return nil, "", fmt.Errorf("work folder: %w", err)
		}
	}
	if bins == nil {
		b, err := Build(ctx, cfg.ModuleDir, filepath.Join(workDir, "bin"))
		if err != nil {
			return nil, "", err
		}
		bins = &b
	}
	sys, err := start(ctx, cfg, *bins, workDir)
	if err != nil {
		return nil, "", fmt.Errorf("start the system (logs in %s): %w", workDir, err)
	}
	return sys, workDir, nil
}

// fleetProgress prints line() every cfg.ProgressEvery until the returned
// function is called.
func fleetProgress(cfg Config, phase string, line func() string) func() {
	if cfg.Progress == nil {
		return func() {}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	began := time.Now()
	go func() {
		defer wg.Done()
		t := time.NewTicker(cfg.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				fmt.Fprintf(cfg.Progress, "[%s %s] %s\n", phase, now.Sub(began).Round(time.Second), line())
			}
		}
	}()
	return func() { close(stop); wg.Wait() }
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func msOf(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// Table writes the report for a person.
func (r *OpenReport) Table(out io.Writer) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	env := "the worker's defaults"
	if len(r.WorkerEnv) > 0 {
		env = strings.Join(r.WorkerEnv, " ")
	}
	fmt.Fprintf(tw, "open onboardings\t%d of %d (%d failed), 1 worker (%s), %d signups at once\n", r.Opened, r.Users, r.Failed, env, r.Concurrency)
	if r.FirstError != "" {
		fmt.Fprintf(tw, "first failure\t%s\n", r.FirstError)
	}
	fmt.Fprintf(tw, "signups\t%.1f/s (%s); signup to HostedUrl p50 %s, p99 %s; worker CPU %.1f s; %d Mangopay calls (the reconciliation's left out)\n",
		r.PerSecond, r.Elapsed.Round(time.Second), msOf(r.Signup.P50), msOf(r.Signup.P99), r.WorkerCPU.Seconds(), r.Calls)
	fmt.Fprintf(tw, "open\tworker RSS\tpeak (VmHWM)\tGo heap in use\tstacks\tgoroutines\tsticky cache\n")
	row := func(label string, p CurvePoint) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\n", label, mib(p.Mem.RSS), mib(p.Mem.HWM), mib(p.HeapInuse), mib(p.StackInuse),
			p.Goroutines, p.Cached)
	}
	for _, p := range r.Curve {
		row(fmt.Sprint(p.Open), p)
	}
	row(fmt.Sprintf("%d, held", r.Held.Open), r.Held)
	if r.Miss.Skipped != "" {
		fmt.Fprintf(tw, "cache miss\tskipped: %s\n", r.Miss.Skipped)
	} else {
		for _, k := range []struct {
			name string
			l    Latencies
		}{{"update, evicted", r.Miss.Evicted}, {"update, cached", r.Miss.Cached}} {
			fmt.Fprintf(tw, "%s\tp50 %s, p99 %s, max %s (%d); worker CPU %s per update; cache %d hits, %d misses\n", k.name,
				msOf(k.l.P50), msOf(k.l.P99), msOf(k.l.Max), k.l.Count, msOf(k.l.PerCall), k.l.Hits, k.l.Misses)
		}
	}
	if r.HeapProfile != "" {
		fmt.Fprintf(tw, "heap profile\t%s (go tool pprof -top %s)\n", r.HeapProfile, r.HeapProfile)
	}
	for k, v := range r.Notes {
		fmt.Fprintf(tw, "note\t%s: %s\n", k, v)
	}
	_ = tw.Flush()
	fmt.Fprintf(out, "logs and Temporal's database: %s\n", r.WorkDir)
}
