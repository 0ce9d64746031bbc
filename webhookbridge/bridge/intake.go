package bridge

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kycflow/kycflow/internal/httpapi"
	"github.com/kycflow/kycflow/internal/tokens"
	"github.com/kycflow/kycflow/webhookstream"
)

// appendTimeout keeps the answer well inside Mangopay's 2 s.
const appendTimeout = 1500 * time.Millisecond

// PublicRouter is what Mangopay reaches: the webhook endpoint, liveness
// and the intake's readiness (Redis only).
func (b *Bridge) PublicRouter() *gin.Engine {
	r := httpapi.PublicEngine(b.Logger, b.TrustedProxies)
	r.GET("/webhooks/mangopay/:token", b.webhook)
	r.POST("/webhooks/mangopay/:token", b.webhook)
	r.GET("/livez", healthz)
	r.GET("/healthz", healthz) // the alias of /livez
	r.GET("/readyz", b.intakeReadyz)
	return r
}

func healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"Status": "ok"}) }

// webhook stores a Mangopay notification before answering 200.
func (b *Bridge) webhook(c *gin.Context) {
	// The rate first: a flood of wrong tokens costs nothing either.
	if ok, first := b.Intake.allow(clientKey(c.ClientIP()), b.now()); !ok {
		b.Metrics.observeLimited()
		if first {
			logLimited(b.Logger, c.ClientIP(), b.Intake.PerSecond)
		}
		// Mangopay retries a refused webhook (every 10 minutes, then
		// every 8 hours), and the reconciliation finds what it missed.
		c.Header("Retry-After", "1")
		c.AbortWithStatusJSON(http.StatusTooManyRequests, httpapi.Error{Error: "too many webhooks from this address"})
		return
	}
	if tokens.Match(c.Param("token"), append([]string{b.PathToken}, b.OldPathTokens...)) < 0 {
		b.Metrics.Received.WithLabelValues(resultBadToken).Inc()
		c.AbortWithStatus(http.StatusNotFound)
		return
	}
	start := time.Now()
	defer func() { b.Metrics.Intake.Observe(time.Since(start).Seconds()) }()
	now := b.now()
	ev, err := webhookstream.ParseWebhook(c.Request.URL.Query(), now)
	switch {
	case errors.Is(err, webhookstream.ErrPing):
		b.Metrics.Received.WithLabelValues(resultPing).Inc()
		c.String(http.StatusOK, "OK")
		return
	case err != nil:
		b.Metrics.Received.WithLabelValues(resultRejected).Inc()
		c.AbortWithStatusJSON(http.StatusBadRequest, httpapi.Error{Error: err.Error()})
		return
	}
	if !Subscribed(ev.EventType) {
		// Mangopay sends only the types kycflow has hooks for; answered
		// 200 so that a hook of the platform's own, pointed here by
		// mistake, does not turn INVALID, and counted.
		b.Metrics.Received.WithLabelValues(resultUnsubscribed).Inc()
		c.String(http.StatusOK, "OK")
		return
	}
	if date, clamped := b.Intake.clampDate(ev.Date, now); clamped {
		b.Metrics.DateClamped.Inc()
		ev.Date = date
		ev.EventKey = ev.Key()
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), appendTimeout)
	defer cancel()
	if err := b.Store.Append(ctx, ev, now); err != nil {
		// Not stored, not acknowledged: Mangopay will retry.
		b.Metrics.Received.WithLabelValues(resultUnavailable).Inc()
		b.Logger.Error("webhook not stored", "event_type", ev.EventType, "error", err)
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, httpapi.Error{Error: "temporarily unable to store the webhook"})
		return
	}
	b.Metrics.Received.WithLabelValues(resultStored).Inc()
	c.String(http.StatusOK, "OK")
}
