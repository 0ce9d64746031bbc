// Command loadtest is kycflow's load and chaos harness: it starts the whole
// system as separate processes, drives onboardings through the public
// interfaces, injects faults, checks every user's outcome and reports the
// figures. It exits 1 on any violation, 2 on bad flags. `loadtest open` and
// `loadtest wave` are the fleet-size profiles (fleet.go). See docs/loadtest.md.
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
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/worker/kycworker"
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
	cfg, asJSON, err := parseFlags(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return 0, nil
	}
	if err != nil {
		return 2, err
	}
	cfg.Progress = os.Stderr
	if cfg.Target != nil {
		// An unreachable deployment, a wrong token or no simulator is a
		// flag to fix: exit 2 before anything is driven.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := harness.Preflight(ctx, cfg.Target)
		cancel()
		if err != nil {
			return 2, err
		}
	}
	code, err := report(asJSON, func(ctx context.Context) (*harness.Report, error) { return harness.Run(ctx, cfg, nil) },
		func(r *harness.Report) error {
			if n := len(r.Violations); n > 0 {
				return fmt.Errorf("%d violations", n)
			}
			return nil
		})
	if errors.Is(err, harness.ErrTarget) {
		code = 2 // a target that cannot be driven (--notify-listen taken, say): a flag to fix
	}
	return code, err
}

// parseFlags reads the chaos run's flags (and target mode's); an error is
// a flag to fix (exit 2).
func parseFlags(args []string, getenv func(string) string) (harness.Config, bool, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	var cfg harness.Config
	fs.IntVar(&cfg.Users, "users", 20, "onboardings to drive")
	fs.Float64Var(&cfg.Rate, "rate", 5, "onboardings started per second")
	fs.IntVar(&cfg.Workers, "workers", 2, "worker processes")
	fs.IntVar(&cfg.Bridges, "bridges", 2, "webhook bridge processes")
	mix := fs.String("mix", harness.DefaultMix().String(), "paths and their weights (against a --target without --notify-listen the default leaves out "+strings.Join(pathStrings(harness.NotifiedPaths), " and ")+")")
	chaos := fs.String("chaos", "all", "faults: all ("+faultList(harness.DefaultFaults)+"), none, or a list of "+faultList(harness.Faults))
	times := fs.Int("chaos-times", 1, "how many times each fault is injected")
	window := fs.Duration("fault-window", 3*time.Second, "how long a Mangopay or webhook fault window lasts")
	latency := fs.Duration("fault-latency", harness.DefaultFaultLatency, "how long Mangopay takes to answer in a mangopay-latency window")
	span := fs.Duration("chaos-span", 0, "the faults come at random moments within this time from the start (default: the time to start every onboarding)")
	fs.DurationVar(&cfg.UserDeadline, "user-deadline", 3*time.Minute, "how long one user may take (signup to outcome) before it counts as lost")
	fs.DurationVar(&cfg.SessionLifetime, "session-lifetime", 0, fmt.Sprintf("shorten every IDV session's lifetime at the simulator (%s to %s; default: Mangopay's 7 days, and the expired path ends its own session's lifetime)",
		harness.MinSessionLifetime, harness.MangopaySessionLifetime))
	fs.DurationVar(&cfg.Settle, "settle", 3*time.Second, "wait after the last user before re-reading the final statuses")
	fs.StringVar(&cfg.RedisServer, "redis-server", harness.DefaultRedisServer, "the redis-server binary the run starts its own Redis with")
	fs.StringVar(&cfg.WorkDir, "work-dir", "", "binaries, logs and Temporal's database (default: a temporary folder, kept)")
	fs.Int64Var(&cfg.Seed, "seed", 0, "the paths' and the chaos's random seed (0: random)")
	fs.DurationVar(&cfg.ProgressEvery, "progress", 5*time.Second, "progress line interval")
	fs.Float64Var(&cfg.Budget.CallsPerSecond, "budget-rate", 0, "the fleet's Mangopay call budget, calls per second (MANGOPAY_MAX_CALLS_PER_SECOND; default: 8 per onboarding started per second, at least 20; with --target: the deployment's, required unless --target "+harness.TargetDev+")")
	fs.IntVar(&cfg.Budget.Burst, "budget-burst", 0, "the budget's burst (MANGOPAY_MAX_BURST; default: a second of the budget's rate)")
	fs.StringVar(&cfg.PprofDir, "pprof", "", "save CPU and heap profiles of the first worker and the first bridge, taken mid-run, in this folder (they serve pprof on loopback through PPROF_ADDR)")
	temporalArgFlag(fs, &cfg)
	var tf harness.TargetFlags
	fs.StringVar(&tf.Target, "target", "", "drive and observe a running deployment instead of starting one: "+harness.TargetDev+
		" (make dev's addresses and development tokens) or the platform API's URL (the bridge's internal listener)")
	fs.StringVar(&tf.APIToken, "api-token", "", "with --target: the platform API's bearer token (default: $"+bridge.EnvAPIToken+")")
	fs.StringVar(&tf.MangopayURL, "mangopay-url", "", "with --target: the Mangopay API the deployment uses (the simulator)")
	fs.StringVar(&tf.ClientID, "mangopay-client-id", "", "with --target: the deployment's Mangopay ClientId")
	fs.StringVar(&tf.APIKey, "mangopay-api-key", "", "with --target: its API key")
	fs.StringVar(&tf.SimURL, "sim-url", "", "with --target: the simulator's control API (/_sim/...; default: --mangopay-url)")
	fs.StringVar(&tf.NotifyListen, "notify-listen", "", "with --target: host:port the harness takes the platform's notifications on (the deployment's "+
		kycworker.EnvPlatformWebhookURL+" must point there); without it the harness polls the platform API")
	fs.StringVar(&tf.NotifySecret, "notify-secret", "", "with --notify-listen: the deployment's "+kycworker.EnvPlatformWebhookSecret+" (default: $"+kycworker.EnvPlatformWebhookSecret+")")
	fs.StringVar(&tf.TemporalAddr, "temporal-address", "", "with --target: the Temporal frontend, to read each onboarding's history (optional; "+harness.TargetDev+": make dev's)")
	fs.StringVar(&tf.TemporalNamespace, "temporal-namespace", "default", "with --target: the Temporal namespace")
	fs.StringVar(&tf.BridgeMetrics, "bridge-metrics", "", "with --target: bridges' /metrics URLs, comma-separated, for the intake p99 (optional; "+harness.TargetDev+": make dev's)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return cfg, false, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	if tf.Target != "" {
		var err error
		if cfg.Target, err = harness.ParseTarget(tf, getenv); err != nil {
			return cfg, false, err
		}
		if set["workers"] || set["bridges"] || set["redis-server"] {
			return cfg, false, errors.New("--workers, --bridges and --redis-server are for a system the harness starts, not --target")
		}
		if strings.TrimSpace(*chaos) == "all" {
			*chaos = faultList(harness.TargetDefaultFaults)
		}
	} else {
		for _, name := range targetOnly {
			if set[name] {
				return cfg, false, fmt.Errorf("--%s needs --target", name)
			}
		}
	}

	var err error
	// Not given: the harness's default for the run (a target it polls
	// leaves out the paths only notifications show).
	if set["mix"] {
		if cfg.Mix, err = harness.ParseMix(*mix); err != nil {
			return cfg, false, err
		}
	}
	if cfg.Chaos, err = harness.ParseChaos(*chaos, *times, *window); err != nil {
		return cfg, false, err
	}
	cfg.Chaos.Span, cfg.Chaos.Latency = *span, *latency
	if (cfg.Budget.CallsPerSecond == 0) != (cfg.Budget.Burst == 0) {
		return cfg, false, errors.New("give --budget-rate and --budget-burst together (or neither)")
	}
	if err := cfg.Validate(); err != nil {
		return cfg, false, err
	}
	return cfg, *asJSON, nil
}

// targetOnly are the flags of target mode.
var targetOnly = []string{"api-token", "mangopay-url", "mangopay-client-id", "mangopay-api-key", "sim-url", "notify-listen",
	"notify-secret", "temporal-address", "temporal-namespace", "bridge-metrics"}

func pathStrings(ps []harness.Path) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

func faultList(fs []harness.Fault) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}
