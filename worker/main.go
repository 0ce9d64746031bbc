// Command worker runs kycflow's Temporal worker: the KYCOnboarding workflow
// and its activities on the kyc-onboarding task queue. Configuration is
// environment only; see docs/configuration.md.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/internal/logsetup"
	"github.com/kycflow/kycflow/internal/pprofserve"
	"github.com/kycflow/kycflow/internal/redisconn"
	"github.com/kycflow/kycflow/internal/temporalconn"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/payloadcodec"
	"github.com/kycflow/kycflow/reconcile"
	"github.com/kycflow/kycflow/worker/kycworker"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run() error {
	logger := logsetup.New(os.Getenv)
	cfg, err := kycworker.LoadConfig(os.Getenv)
	if err != nil {
		return err
	}
	metrics, err := kycworker.NewMetrics()
	if err != nil {
		return err
	}
	defer metrics.Close()

	opts, err := temporalconn.Options(logger)
	if err != nil {
		return err
	}
	opts.MetricsHandler = metrics.MetricsHandler
	tc, err := client.Dial(opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", opts.HostPort, err)
	}
	defer tc.Close()

	rdb, err := redisconn.New(cfg.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()

	var mc mangopay.Config
	mp, budget, err := callbudget.NewClient(os.Getenv, rdb, func(c *mangopay.Config) {
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

	rc, err := reconcile.ConfigFromEnv(os.Getenv)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("WORKER_HTTP_ADDR: %w", err)
	}
	codec, err := payloadcodec.FromEnv(os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := pprofserve.Start(ctx, os.Getenv, logger); err != nil {
		return err
	}
	return kycworker.Run(ctx, kycworker.Deps{
		Temporal: tc, Redis: rdb, Mangopay: mp, Metrics: metrics, Logger: logger, PageSealer: codec, Reconcile: &rc, Tuning: cfg.Tuning,
		Notifier: &notify.Notifier{URL: cfg.PlatformWebhookURL, Secrets: cfg.PlatformWebhookKeys},
	}, ln)
}
