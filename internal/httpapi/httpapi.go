// Package httpapi is what kycflow's HTTP listeners share: the gin engine
// with its server spans (OpenTelemetry), request IDs, access log and panic
// recovery, and the error body every answer uses. The webhook intake and the platform API build on it.
package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/kycflow/kycflow/internal/tracing"
	"github.com/kycflow/kycflow/webhookstream"
)

// ServiceName is the bridge's service.name in traces (OTEL_SERVICE_NAME
// overrides it) and its server spans' server name: both listeners are the
// bridge's.
const ServiceName = "webhookbridge"

// redactSpanPath replaces the request's url.path on its server span by the
// path with every route parameter scrubbed (/webhooks/mangopay/REDACTED),
// and sets http.route to the route template, as the access log reads it:
// the webhook path carries the secret token, and platform paths carry user
// IDs.
func redactSpanPath(c *gin.Context) {
	span := trace.SpanFromContext(c.Request.Context())
	if !span.IsRecording() {
		c.Next()
		return
	}
	route := c.FullPath()
	if route == "" {
		span.SetAttributes(semconv.URLPath("unmatched"))
		c.Next()
		return
	}
	span.SetAttributes(semconv.HTTPRoute(route), semconv.URLPath(scrubbed(route)))
	c.Next()
}

// Redacted stands for a route parameter's value in a span's url.path.
const Redacted = "REDACTED"

// scrubbed is the route template with each parameter (:name, *name) in
// place of its value replaced by Redacted.
func scrubbed(route string) string {
	segs := strings.Split(route, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			segs[i] = Redacted
		}
	}
	return strings.Join(segs, "/")
}

// Engine is a gin engine that believes X-Forwarded-For only from
// trustedProxies, gives each request an ID, logs each answer and turns a
// panic into a 500. Its spans continue a request's trace context: for
// listeners whose callers are trusted.
func Engine(logger *slog.Logger, trustedProxies []string) *gin.Engine {
	return engine(logger, trustedProxies, tracing.Middleware(ServiceName))
}

// PublicEngine is Engine for a listener anyone may call: each request
// starts a trace of its own, whatever trace context it carries.
func PublicEngine(logger *slog.Logger, trustedProxies []string) *gin.Engine {
	return engine(logger, trustedProxies, tracing.PublicMiddleware(ServiceName))
}

func engine(logger *slog.Logger, trustedProxies []string, traced gin.HandlerFunc) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.ContextWithFallback = true
	if err := r.SetTrustedProxies(trustedProxies); err != nil {
		logger.Error("invalid trusted proxies; trusting none", "error", err)
		_ = r.SetTrustedProxies(nil)
	}
	// The trace first: the access log and every handler log in its span.
	r.Use(traced, redactSpanPath, requestID(), accessLog(logger), gin.CustomRecovery(func(c *gin.Context, rec any) {
		logger.Error("panic in handler", "route", c.FullPath(), "panic", rec, "request_id", c.GetString(RequestIDKey))
		c.AbortWithStatusJSON(http.StatusInternalServerError, Error{Error: "internal error"})
	}))
	r.HandleMethodNotAllowed = true
	return r
}

// Error is every error body: a message and, for validation errors, the
// field at fault.
type Error struct {
	Error string `json:"Error"`
	Field string `json:"Field,omitempty"`
	// Fields are every field at fault when there are several (Field is
	// the first).
	Fields []string `json:"Fields,omitempty"`
}

// RequestIDKey is the gin context key of the request ID (for logs).
const RequestIDKey = "request_id"

// requestID keeps a sane incoming X-Request-Id or makes one.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-Id")
		if len(id) == 0 || len(id) > 64 || !webhookstream.ValidResourceID(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(RequestIDKey, id)
		c.Header("X-Request-Id", id)
		c.Next()
	}
}

// accessLog logs the route template, never the path: the webhook path
// carries the secret token and platform paths carry user IDs.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		log.LogAttrs(c.Request.Context(), slog.LevelInfo, "http request",
			slog.String("method", c.Request.Method), slog.String("route", route), slog.Int("status", c.Writer.Status()),
			slog.Duration("duration", time.Since(start)), slog.String("request_id", c.GetString(RequestIDKey)),
			// The caller, as the trusted proxies (BRIDGE_TRUSTED_PROXIES) say:
			// forged webhooks must be traceable to their source.
			slog.String("client_ip", c.ClientIP()))
	}
}
