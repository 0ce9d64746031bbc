package bridge

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kycflow/kycflow/internal/health"
	"github.com/kycflow/kycflow/internal/httpapi"
)

// InternalRouter is the internal listener: the platform API
// (platformapi, bearer token) plus health, readiness and metrics.
func (b *Bridge) InternalRouter() *gin.Engine {
	r := httpapi.Engine(b.Logger, b.TrustedProxies)
	r.Use(internalMiddleware...)
	r.GET("/livez", healthz)
	r.GET("/healthz", healthz) // the alias of /livez
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

// readyz reports Redis, Temporal and (when the bridge has a Mangopay
// client) Mangopay separately, each "ok" or "unavailable"; ?verbose lists
// the checks. The causes go to the log, not to whoever can reach the
// listener (they carry addresses and internal details).
func (b *Bridge) readyz(c *gin.Context) {
	ready, results := health.Run(c.Request.Context(), b.readyChecks(), b.Logger)
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, health.Answer(results, health.Verbose(c.Request)))
}

// countRoute counts the platform API's answers by route and status.
func (b *Bridge) countRoute(c *gin.Context) {
	c.Next()
	b.Metrics.HTTP.WithLabelValues(c.FullPath(), strconv.Itoa(c.Writer.Status())).Inc()
}
