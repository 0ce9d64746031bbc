package bridge

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/internal/health"
)

// readyChecks are the bridge's readiness: Redis (where webhooks are
// stored) and Temporal (where they go) are required; Mangopay is reported
// but optional, as the bridge takes webhooks while Mangopay is away.
func (b *Bridge) readyChecks() []health.Check {
	checks := []health.Check{
		b.redisCheck(),
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

func (b *Bridge) redisCheck() health.Check {
	return health.Check{Name: "Redis", Run: func(ctx context.Context) error { return b.RDB.Ping(ctx).Err() }}
}

// intakeReadyz is the public listener's readiness, the intake's: Redis
// only, where a webhook is stored before the answer. The forwarder keeps
// webhooks through a Temporal outage, and Mangopay marks a hook INVALID
// after 100 failed deliveries, so a Temporal outage must not take the
// bridges out of the public Service. It answers ok or unavailable and no
// more: whoever reaches the public listener learns nothing of the
// dependencies (the cause goes to the log).
func (b *Bridge) intakeReadyz(c *gin.Context) {
	ready, _ := health.Run(c.Request.Context(), []health.Check{b.redisCheck()}, b.Logger)
	if !ready {
		c.JSON(http.StatusServiceUnavailable, gin.H{"Status": health.StatusUnavailable})
		return
	}
	c.JSON(http.StatusOK, gin.H{"Status": health.StatusOK})
}
