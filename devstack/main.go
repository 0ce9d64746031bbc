// Command devstack runs the whole of kycflow locally on embedded defaults
// (`make dev`): Temporal with its Web UI, Redis, the Mangopay simulator, the
// worker and the webhook bridge, with hooks registered and a demo onboarding
// started. Ctrl-C stops everything.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kycflow/kycflow/devstack/stack"
	"github.com/kycflow/kycflow/internal/logsetup"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/worker/kycworker"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

func run() error {
	log := logsetup.New(os.Getenv)
	// The stack runs on the published development tokens: only on purpose.
	if dev, err := bridge.DevMode(os.Getenv); err != nil || !dev {
		return fmt.Errorf("the dev stack runs on published development secrets: set %s=1 (make dev does)", bridge.DevSwitch)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	start := time.Now()
	o := stack.DevOptions()
	o.Logger, o.RedisURL = log, os.Getenv("REDIS_URL")
	// A load harness in target mode (go run ./loadtest --target dev) may
	// take the notifications, as a platform would.
	o.PlatformWebhookURL = os.Getenv(kycworker.EnvPlatformWebhookURL)
	o.PlatformWebhookSecret = os.Getenv(kycworker.EnvPlatformWebhookSecret)
	s, err := stack.Start(ctx, o)
	if err != nil {
		return err
	}
	defer s.Stop()
	demo, err := s.StartDemo(ctx)
	if err != nil {
		return err
	}
	redis := s.RedisURL
	if s.RedisEmbedded {
		redis += " (embedded: no Redis answered on 127.0.0.1:6379)"
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
		s.WebhookURL, s.SimURL, redis, s.NotifyURL)
	err = s.Wait(ctx)
	fmt.Println("\nstopping…")
	return err
}
