package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/kycflow/kycflow/loadtest/harness"
)

// systemFlags are the flags both fleet profiles take for the system.
func systemFlags(fs *flag.FlagSet, cfg *harness.Config, users int) {
	fs.IntVar(&cfg.Users, "users", users, "onboardings")
	fs.IntVar(&cfg.Bridges, "bridges", 1, "webhook bridge processes")
	fs.DurationVar(&cfg.UserDeadline, "user-deadline", 5*time.Minute, "how long one user's signup (and validation) may take")
	fs.DurationVar(&cfg.Settle, "settle", 3*time.Second, "wait before the final reads")
	fs.StringVar(&cfg.RedisServer, "redis-server", harness.DefaultRedisServer, "the redis-server binary the run starts its own Redis with")
	fs.StringVar(&cfg.WorkDir, "work-dir", "", "binaries, logs and Temporal's database (default: a temporary folder, kept)")
	fs.Int64Var(&cfg.Seed, "seed", 0, "random seed (0: random)")
	fs.DurationVar(&cfg.ProgressEvery, "progress", 5*time.Second, "progress line interval")
	temporalArgFlag(fs, cfg)
}

// temporalArgFlag is --temporal-arg, for every profile that starts its own
// dev server.
func temporalArgFlag(fs *flag.FlagSet, cfg *harness.Config) {
	fs.Func("temporal-arg", "an argument for `temporal server start-dev` (repeatable; --temporal-arg=--sqlite-pragma --temporal-arg=synchronous=off)",
		func(v string) error { cfg.TemporalArgs = append(cfg.TemporalArgs, v); return nil })
}

// runOpen is `loadtest open`: N onboardings left open on one worker, its
// memory against how many are open, and the cost of a sticky-cache miss.
func runOpen(args []string) (int, error) {
	fs := flag.NewFlagSet("loadtest open", flag.ContinueOnError)
	var cfg harness.OpenConfig
	systemFlags(fs, &cfg.System, 1000)
	fs.IntVar(&cfg.Concurrency, "concurrency", 16, "signups at once")
	fs.IntVar(&cfg.Step, "step", 500, "one memory sample every this many open onboardings")
	fs.DurationVar(&cfg.Hold, "hold", 10*time.Second, "wait after the last signup before the last sample")
	fs.IntVar(&cfg.MissSamples, "miss-samples", 400, "onboardings the cache-miss measurement updates (evicted, then cached); needs --sticky-cache below --users")
	cache := fs.Int("sticky-cache", 0, "WORKER_STICKY_CACHE_SIZE for the worker (0: the worker's default, sized from its memory limit, 1,000 without one)")
	wfPollers := fs.Int("workflow-pollers", 0, "WORKER_WORKFLOW_POLLERS (0: the SDK's default, 2)")
	actPollers := fs.Int("activity-pollers", 0, "WORKER_ACTIVITY_POLLERS (0: the SDK's default, 2)")
	fs.Float64Var(&cfg.BudgetRate, "budget-rate", 1000, "MANGOPAY_MAX_CALLS_PER_SECOND of the run (high: the budget is not under test here)")
	fs.IntVar(&cfg.BudgetBurst, "budget-burst", 1000, "MANGOPAY_MAX_BURST of the run")
	fs.BoolVar(&cfg.HeapProfile, "heap-profile", false, "save the worker's pprof heap profile at the end (through PPROF_ADDR)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	env, err := workerEnv(*cache, *wfPollers, *actPollers)
	if err != nil {
		return 2, err
	}
	cfg.System.WorkerEnv = env
	// Zero would mean "the default" to Defaults: refused here instead.
	if cfg.System.Users == 0 || cfg.Concurrency == 0 || cfg.Step == 0 || cfg.BudgetRate == 0 || cfg.BudgetBurst == 0 {
		return 2, errors.New("--users, --concurrency, --step, --budget-rate and --budget-burst must be above 0")
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return 2, err
	}
	cfg.System.Progress = os.Stderr
	return report(*asJSON, func(ctx context.Context) (*harness.OpenReport, error) { return harness.RunOpen(ctx, cfg, nil) },
		func(r *harness.OpenReport) error {
			if r.Failed > 0 {
				return fmt.Errorf("%d signups failed", r.Failed)
			}
			return nil
		})
}

// runWave is `loadtest wave`: N verified users, a share of them
// downgraded within a window; all must be reopened within the budget.
func runWave(args []string) (int, error) {
	fs := flag.NewFlagSet("loadtest wave", flag.ContinueOnError)
	var cfg harness.WaveConfig
	systemFlags(fs, &cfg.System, 500)
	fs.IntVar(&cfg.System.Workers, "workers", 1, "worker processes")
	fs.IntVar(&cfg.Concurrency, "concurrency", 16, "signups (each validated) at once")
	fs.Float64Var(&cfg.Share, "share", 0.2, "share of the verified users downgraded")
	fs.DurationVar(&cfg.Window, "window", time.Minute, "the downgrades are spread over this time")
	fs.DurationVar(&cfg.WaveDeadline, "wave-deadline", 10*time.Minute, "how long after the first downgrade every affected user may take")
	fs.Float64Var(&cfg.BudgetRate, "budget-rate", 50, "MANGOPAY_MAX_CALLS_PER_SECOND of the run (kycflow's default is 0.3)")
	fs.IntVar(&cfg.BudgetBurst, "budget-burst", 300, "MANGOPAY_MAX_BURST of the run")
	fs.StringVar(&cfg.System.PprofDir, "pprof", "", "save CPU and heap profiles of the first worker and the first bridge, taken over the wave's window, in this folder")
	fs.Float64Var(&cfg.SignupRate, "signup-rate", 0, "new users signing up each second, on the quiet system before the wave and all through it; their signup → HostedUrl p99 during the wave is held to twice the quiet one (0: none)")
	fs.DurationVar(&cfg.QuietProbe, "quiet-probe", time.Minute, "how long new users sign up on the quiet system before the wave (with --signup-rate)")
	wfPollers := fs.Int("workflow-pollers", 0, "WORKER_WORKFLOW_POLLERS (0: the worker's default)")
	actPollers := fs.Int("activity-pollers", 0, "WORKER_ACTIVITY_POLLERS (0: the worker's default)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	env, err := workerEnv(0, *wfPollers, *actPollers)
	if err != nil {
		return 2, err
	}
	cfg.System.WorkerEnv = env
	// Zero would mean "the default" to Defaults: refused here instead.
	if cfg.Share == 0 || cfg.BudgetRate == 0 || cfg.System.Users == 0 {
		return 2, errors.New("--share, --budget-rate and --users must be above 0")
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return 2, err
	}
	cfg.System.Progress = os.Stderr
	return report(*asJSON, func(ctx context.Context) (*harness.WaveReport, error) { return harness.RunWave(ctx, cfg, nil) },
		func(r *harness.WaveReport) error {
			if !r.OK() {
				return errors.New("the wave failed: see the report")
			}
			return nil
		})
}

// workerEnv turns the tuning flags into the worker's environment.
func workerEnv(cache, wfPollers, actPollers int) ([]string, error) {
	var env []string
	var errs []error
	for _, f := range []struct {
		flag, env string
		v         int
	}{{"--sticky-cache", "WORKER_STICKY_CACHE_SIZE", cache}, {"--workflow-pollers", "WORKER_WORKFLOW_POLLERS", wfPollers},
		{"--activity-pollers", "WORKER_ACTIVITY_POLLERS", actPollers}} {
		switch {
		case f.v < 0:
			errs = append(errs, fmt.Errorf("%s cannot be negative (0: the SDK's default)", f.flag))
		case f.v > 0:
			env = append(env, f.env+"="+strconv.Itoa(f.v))
		}
	}
	return env, errors.Join(errs...)
}

func output(w io.Writer, asJSON bool, v any, table func(io.Writer)) error {
	if !asJSON {
		table(w)
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// tabled is a run's report, which prints itself as a table.
type tabled interface{ Table(io.Writer) }

// report runs a profile until it ends or the harness is interrupted,
// prints its report (a table, or JSON), and turns what failed into the
// exit code: 1 for a failed run or a report that says so.
func report[R tabled](asJSON bool, run func(context.Context) (R, error), failed func(R) error) (int, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := run(ctx)
	if err != nil {
		return 1, err
	}
	if err := output(os.Stdout, asJSON, r, r.Table); err != nil {
		return 1, err
	}
	if err := failed(r); err != nil {
		return 1, err
	}
	return 0, nil
}
