package bridge

import (
	"context"

	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/internal/health"
)

// readyChecks are the bridge's readiness: Redis (where webhooks are
// stored) and Temporal (where they go) are required; Mangopay is reported
// but optional, as the bridge takes webhooks while Mangopay is away.
func (b *Bridge) readyChecks() []health.Check {
	checks := []health.Check{
		{Name: "Redis", Run: func(ctx context.Context) error { return b.RDB.Ping(ctx).Err() }},
		{Name: "Temporal", Run: func(ctx context.Context) error {
			_, err := b.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}},
	}
	if b.MangopayURL != "" {
		checks = append(checks, health.Check{Name: "Mangopay", Optional: true, Run: health.Reachable(b.MangopayURL)})
	}
	return checks
}
