// Command worker runs kycflow's Temporal worker: the KYCOnboarding workflow
// and its activities on the kyc-onboarding task queue. Configuration is
// environment only, declared in package config (docs/configuration.md):
//
//	worker                              run the worker
//	worker register-search-attributes   register the workflow's search attributes in TEMPORAL_NAMESPACE (idempotent)
//	worker retire-key [--wait 2m]       retire the payload keys after the first of PAYLOAD_ENCRYPTION_KEY (docs/operations.md)
//	worker notifications list           the onboardings holding platform notifications undelivered
//	worker notifications resend (USER_ID... | -all)   send them again, in order
//	worker [...] --print-config         print the effective configuration, secrets redacted
//
// The worker refuses to start while a search attribute it writes is
// missing from its namespace.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/config"
	"github.com/kycflow/kycflow/internal/logsetup"
	"github.com/kycflow/kycflow/internal/pprofserve"
	"github.com/kycflow/kycflow/internal/redisconn"
	"github.com/kycflow/kycflow/internal/searchattrs"
	"github.com/kycflow/kycflow/internal/temporalconn"
	"github.com/kycflow/kycflow/internal/tracing"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/payloadcodec"
	"github.com/kycflow/kycflow/reconcile"
	"github.com/kycflow/kycflow/worker/kycworker"
	"github.com/kycflow/kycflow/workflows"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "register-search-attributes" {
		env, err := config.Load(config.Admin, os.Getenv)
		if config.WantsPrint(args) {
			os.Exit(config.PrintAndExit(env, err, os.Stdout, os.Stderr))
		}
		if err == nil {
			err = registerSearchAttributes(env, args[1:])
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "worker register-search-attributes:", err)
			os.Exit(1)
		}
		return
	}
	if len(args) > 0 && args[0] == "notifications" {
		env, err := config.Load(config.Notifications, os.Getenv)
		err = checkNotificationsConfig(env, err)
		if config.WantsPrint(args) {
			os.Exit(config.PrintAndExit(env, err, os.Stdout, os.Stderr))
		}
		if err == nil {
			err = notifications(env, args[1:], os.Stdout)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "worker notifications:", err)
			os.Exit(1)
		}
		return
	}
	env, err := loadConfig(os.Getenv)
	if config.WantsPrint(args) {
		os.Exit(config.PrintAndExit(env, err, os.Stdout, os.Stderr))
	}
	if err == nil && len(args) > 0 && args[0] == "retire-key" {
		if err = retireKey(env, args[1:], os.Stdout); err == nil {
			return
		}
		fmt.Fprintln(os.Stderr, "worker retire-key:", err)
		if errors.Is(err, errNotDone) {
			os.Exit(3)
		}
		os.Exit(1)
	}
	if err == nil && len(args) > 0 {
		err = fmt.Errorf("unknown command %q (register-search-attributes, notifications, retire-key, --print-config)", args[0])
	}
	if err == nil {
		err = run(env)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// loadConfig reads the worker's configuration and parses every part of it,
// so that all its errors are reported at once.
func loadConfig(getenv func(string) string) (*config.Env, error) {
	env, err := config.Load(config.Worker, getenv)
	_, wErr := kycworker.LoadConfig(env.Get)
	_, mErr := mangopay.ConfigFromEnv(env.Get)
	_, bErr := callbudget.ConfigFromEnv(env.Get)
	_, rErr := reconcile.ConfigFromEnv(env.Get)
	_, cErr := payloadcodec.FromEnv(env.Get)
	_, pErr := pprofserve.Addr(env.Get)
	return env, config.Merge(err, wErr, mErr, bErr, rErr, cErr, pErr)
}

func run(env *config.Env) error {
	logger := logsetup.New(env.Get)
	cfg, err := kycworker.LoadConfig(env.Get)
	if err != nil {
		return err
	}
	metrics, err := kycworker.NewMetrics()
	if err != nil {
		return err
	}
	defer metrics.Close()
	stopTracing, err := tracing.Start(context.Background(), "worker", env.Get, logger)
	if err != nil {
		return err
	}
	defer stopTracing()

	opts, err := temporalconn.Options(logger, env.Get)
	if err != nil {
		return err
	}
	opts.MetricsHandler = metrics.MetricsHandler
	tc, err := client.Dial(opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", opts.HostPort, err)
	}
	defer tc.Close()

	rdb, err := redisconn.NewPrefixed(cfg.RedisURL, env.Get("REDIS_KEY_PREFIX"))
	if err != nil {
		return err
	}
	defer rdb.Close()

	var mc mangopay.Config
	mp, budget, err := callbudget.NewClient(env.Get, rdb, func(c *mangopay.Config) {
		c.Logger, c.Observe = logger, metrics.ObserveMangopay
		mc = *c
	})
	if err != nil {
		return err
	}
	if err := budget.RegisterMetrics(metrics.Registry); err != nil {
		return err
	}
	logger.Info("mangopay target", "config", mc, "budget", budget.Config())

	rc, err := reconcile.ConfigFromEnv(env.Get)
	if err != nil {
		return err
	}
	// The fleet reconciliation reads one Events page per event type each
	// interval (and one more per 100 events): keep that on the budget's
	// background lane, so a lost webhook is found within the interval even
	// near Mangopay's limits.
	budget.KeepForBackground(float64(len(workflows.HookEventTypes)+1) / rc.Every.Seconds())

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("WORKER_HTTP_ADDR: %w", err)
	}
	codec, err := payloadcodec.FromEnv(env.Get)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := pprofserve.Start(ctx, env.Get, logger); err != nil {
		return err
	}
	if env.Dev {
		logger.Warn("development switch on (KYCFLOW_DEV): development credentials and payloads in clear are allowed; never in production")
	}
	return kycworker.Run(ctx, kycworker.Deps{
		Namespace: searchattrs.Namespace(opts),
		Temporal:  tc, Redis: rdb, Mangopay: mp, Metrics: metrics, Logger: logger, PageSealer: codec, Reconcile: &rc, Tuning: cfg.Tuning,
		Notifier: &notify.Notifier{URL: cfg.PlatformWebhookURL, Secrets: cfg.PlatformWebhookKeys},
	}, ln)
}

// registerSearchAttributes registers the workflow's search attributes in
// the namespace, waits until they are listed, and says what it did. It
// needs only the Temporal connection: no payload key, no Mangopay.
func registerSearchAttributes(env *config.Env, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected arguments %q", args)
	}
	logger := logsetup.New(env.Get)
	opts, err := temporalconn.Options(logger, func(string) string { return "" })
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", opts.HostPort, err)
	}
	defer tc.Close()
	ns := searchattrs.Namespace(opts)
	added, err := searchattrs.Register(ctx, tc, ns)
	if err != nil {
		return err
	}
	if len(added) == 0 {
		fmt.Printf("every search attribute is registered in namespace %s\n", ns)
		return nil
	}
	fmt.Printf("registered in namespace %s: %s\n", ns, strings.Join(added, ", "))
	return nil
}
