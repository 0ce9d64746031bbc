// Command devstack runs the whole of kycflow locally on embedded defaults
// (`make dev`): Temporal with its Web UI, Redis, the Mangopay simulator, the
// worker and the webhook bridge, with hooks registered and a demo onboarding
// started. Ctrl-C stops everything.
//
// It reads the variables declared for it in package config
// (docs/configuration.md); `devstack --print-config` prints them.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/config"
	"github.com/kycflow/kycflow/devstack/stack"
	"github.com/kycflow/kycflow/internal/logsetup"
	"github.com/kycflow/kycflow/internal/tracing"
	"github.com/kycflow/kycflow/reconcile"
	"github.com/kycflow/kycflow/worker/kycworker"
)

func main() {
	env, err := loadConfig(os.Getenv)
	if config.WantsPrint(os.Args[1:]) {
		os.Exit(config.PrintAndExit(env, err, os.Stdout, os.Stderr))
	}
	if err == nil {
		err = run(env)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

// loadConfig reads the dev stack's configuration and parses every part of
// it, so that all its errors are reported at once.
func loadConfig(getenv func(string) string) (*config.Env, error) {
	env, err := config.Load(config.Devstack, getenv)
	var devErr error
	if !env.Dev {
		// The stack runs on the published development tokens: only on purpose.
		devErr = &config.Error{Name: config.DevSwitch, Err: errors.New("the dev stack runs on published development secrets: set it to 1 (make dev does)")}
	}
	_, bErr := callbudget.ConfigFromEnv(env.Get)
	_, rErr := reconcile.ConfigFromEnv(env.Get)
	return env, config.Merge(errors.Join(err, devErr), bErr, rErr)
}

func run(env *config.Env) error {
	log := logsetup.New(env.Get)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	stopTracing, err := tracing.Start(ctx, "devstack", env.Get, log)
	if err != nil {
		return err
	}
	defer stopTracing()
	start := time.Now()
	o := stack.DevOptions()
	o.Logger, o.RedisURL, o.RedisKeyPrefix, o.Getenv = log, env.Get("REDIS_URL"), env.Get("REDIS_KEY_PREFIX"), env.Get
	// A shared Redis keeps the last run's keys: this run takes its own
	// prefix, so that make dev starts clean (unless one was chosen).
	o.RedisKeyPrefix = stack.RunKeyPrefix(o.RedisURL, o.RedisKeyPrefix, env.Source("REDIS_KEY_PREFIX") == config.FromEnv, start)
	if o.RedisURL != "" {
		log.Info("redis key prefix of this run", "prefix", o.RedisKeyPrefix)
	}
	// A load harness in target mode (go run ./loadtest --target dev) may
	// take the notifications, as a platform would.
	o.PlatformWebhookURL = env.Get(kycworker.EnvPlatformWebhookURL)
	o.PlatformWebhookSecret = env.Get(kycworker.EnvPlatformWebhookSecret)
	s, err := stack.Start(ctx, o)
	if err != nil {
		return err
	}
	defer s.Stop()
	demo, err := s.StartDemo(ctx)
	if err != nil {
		return err
	}
	notifications := s.NotifyURL + " (PLATFORM_WEBHOOK_URL)"
	if s.NotifySecret != "" {
		notifications = s.NotifyURL + " (the stand-in platform; its secret, new each run: " + s.NotifySecret + ")"
	}
	redis := s.RedisURL
	if s.RedisEmbedded {
		redis += " (embedded: set REDIS_URL to use another)"
	}
	fmt.Printf(`
kycflow is running (ready in %s).

  Temporal Web UI   %s/namespaces/default/workflows?query=KycStatus%%3D%%22AWAITING_USER%%22
  Demo onboarding   user %s, %s (attempt %d)
    open this in a browser and pick the checks' outcomes:
    %s
  Platform API      %s   (Authorization: Bearer %s)
    curl -s -H 'Authorization: Bearer %s' %s/v1/onboardings/%s
  Webhooks          %s
  Simulator         %s   (control API under /_sim/)
  Redis             %s
  Notifications     %s

Ctrl-C stops everything.
`, time.Since(start).Round(100*time.Millisecond), s.UIURL, demo.UserID, demo.Result.Status, demo.Result.Attempt,
		demo.Result.HostedURL, s.BridgeInternalURL, s.APIToken, s.APIToken, s.BridgeInternalURL, demo.UserID,
		s.WebhookURL, s.SimURL, redis, notifications)
	err = s.Wait(ctx)
	fmt.Println("\nstopping…")
	return err
}
