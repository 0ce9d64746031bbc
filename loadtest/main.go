// Command loadtest is kycflow's load and chaos harness: it starts the whole
// system as separate processes, drives onboardings through the public
// interfaces, injects faults, checks every user's outcome and reports the
// figures. It exits 1 on any violation, 2 on bad flags. `loadtest open` and
// `loadtest wave` are the fleet-size profiles (fleet.go). See the README.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kycflow/kycflow/loadtest/harness"
)

func main() {
	code, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
	}
	os.Exit(code)
}

func run() (int, error) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "open":
			return runOpen(os.Args[2:])
		case "wave":
			return runWave(os.Args[2:])
		}
	}
	var cfg harness.Config
	flag.IntVar(&cfg.Users, "users", 20, "onboardings to drive")
	flag.Float64Var(&cfg.Rate, "rate", 5, "onboardings started per second")
	flag.IntVar(&cfg.Workers, "workers", 2, "worker processes")
	flag.IntVar(&cfg.Bridges, "bridges", 2, "webhook bridge processes")
	mix := flag.String("mix", harness.DefaultMix().String(), "paths and their weights")
	chaos := flag.String("chaos", "all", "faults: all ("+faultList(harness.DefaultFaults)+"), none, or a list of "+faultList(harness.Faults))
	times := flag.Int("chaos-times", 1, "how many times each fault is injected")
	window := flag.Duration("fault-window", 3*time.Second, "how long a Mangopay or webhook fault window lasts")
	latency := flag.Duration("fault-latency", harness.DefaultFaultLatency, "how long Mangopay takes to answer in a mangopay-latency window")
	span := flag.Duration("chaos-span", 0, "the faults come at random moments within this time from the start (default: the time to start every onboarding)")
	flag.DurationVar(&cfg.UserDeadline, "user-deadline", 3*time.Minute, "how long one user may take (signup to outcome) before it counts as lost")
	flag.DurationVar(&cfg.SessionLifetime, "session-lifetime", 0, fmt.Sprintf("the simulator's IDV session lifetime, shortened from Mangopay's 7 days so that the expired path's sessions expire within the run (default with that path: %s; %s to %s)",
		harness.DefaultSessionLifetime, harness.MinSessionLifetime, harness.MangopaySessionLifetime))
	flag.DurationVar(&cfg.Settle, "settle", 3*time.Second, "wait after the last user before re-reading the final statuses")
	flag.StringVar(&cfg.RedisServer, "redis-server", harness.DefaultRedisServer, "the redis-server binary the run starts its own Redis with")
	flag.StringVar(&cfg.WorkDir, "work-dir", "", "binaries, logs and Temporal's database (default: a temporary folder, kept)")
	flag.Int64Var(&cfg.Seed, "seed", 0, "the paths' and the chaos's random seed (0: random)")
	flag.DurationVar(&cfg.ProgressEvery, "progress", 5*time.Second, "progress line interval")
	flag.Float64Var(&cfg.Budget.CallsPerSecond, "budget-rate", 0, "the fleet's Mangopay call budget, calls per second (MANGOPAY_MAX_CALLS_PER_SECOND; default: 8 per onboarding started per second, at least 20)")
	flag.IntVar(&cfg.Budget.Burst, "budget-burst", 0, "the budget's burst (MANGOPAY_MAX_BURST; default: a second of the budget's rate)")
	flag.StringVar(&cfg.PprofDir, "pprof", "", "save CPU and heap profiles of the first worker and the first bridge, taken mid-run, in this folder (they serve pprof on loopback through PPROF_ADDR)")
	asJSON := flag.Bool("json", false, "print the report as JSON")
	flag.Parse()

	var err error
	if cfg.Mix, err = harness.ParseMix(*mix); err != nil {
		return 2, err
	}
	if cfg.Chaos, err = harness.ParseChaos(*chaos, *times, *window); err != nil {
		return 2, err
	}
	cfg.Chaos.Span, cfg.Chaos.Latency = *span, *latency
	if (cfg.Budget.CallsPerSecond == 0) != (cfg.Budget.Burst == 0) {
		return 2, errors.New("give --budget-rate and --budget-burst together (or neither)")
	}
	if err := cfg.Validate(); err != nil {
		return 2, err
	}
	cfg.Progress = os.Stderr
	return report(*asJSON, func(ctx context.Context) (*harness.Report, error) { return harness.Run(ctx, cfg, nil) },
		func(r *harness.Report) error {
			if n := len(r.Violations); n > 0 {
				return fmt.Errorf("%d violations", n)
			}
			return nil
		})
}

func faultList(fs []harness.Fault) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}
