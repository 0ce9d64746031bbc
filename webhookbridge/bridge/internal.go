package bridge

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/internal/httpapi"
)

// InternalRouter is the internal listener: the platform API
// (platformapi, bearer token) plus health, readiness and metrics.
func (b *Bridge) InternalRouter() *gin.Engine {
	r := httpapi.Engine(b.Logger, b.TrustedProxies)
	r.Use(internalMiddleware...)
	r.GET("/healthz", healthz)
	r.GET("/readyz", b.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(b.Metrics.Registry, promhttp.HandlerOpts{})))
	if b.Codec != nil {
		codec := gin.WrapH(http.StripPrefix("/codec", b.Codec))
		// /codec/decode with a bearer token, or /codec/<token>/decode.
		r.POST("/codec/*op", codec)
		r.OPTIONS("/codec/*op", codec)
	}
	if b.API != nil {
		b.API.Register(r, b.countRoute)
	}
	return r
}

// internalMiddleware runs before every handler of the internal listener.
// It is empty in production; the package's tests use it to hold every
// exchange to the published contract, docs/openapi.yaml.
var internalMiddleware []gin.HandlerFunc

// readyz reports Redis and Temporal separately, each "ok" or
// "unavailable": the causes go to the log, not to whoever can reach the
// listener (they carry addresses and internal details).
func (b *Bridge) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	var redisErr, temporalErr error
	var wg sync.WaitGroup
	wg.Go(func() { redisErr = b.RDB.Ping(ctx).Err() })
	wg.Go(func() { _, temporalErr = b.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}) })
	wg.Wait()
	status, out := http.StatusOK, gin.H{}
	for name, err := range map[string]error{"Redis": redisErr, "Temporal": temporalErr} {
		out[name] = "ok"
		if err != nil {
			status, out[name] = http.StatusServiceUnavailable, "unavailable"
			b.Logger.Warn("not ready", "dependency", name, "error", err)
		}
	}
	c.JSON(status, out)
}

// countRoute counts the platform API's answers by route and status.
func (b *Bridge) countRoute(c *gin.Context) {
	c.Next()
	b.Metrics.HTTP.WithLabelValues(c.FullPath(), strconv.Itoa(c.Writer.Status())).Inc()
}
