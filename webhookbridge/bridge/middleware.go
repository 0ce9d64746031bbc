package bridge

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/kycflow/kycflow/internal/tracing"
)

// ServiceName is the bridge's service.name in traces (OTEL_SERVICE_NAME
// overrides it) and its server spans' server name.
const ServiceName = "webhookbridge"

// redactSpanPath replaces the request's url.path on its server span by
// the route template, as the access log does: the webhook path carries
// the secret token, and platform paths carry user IDs.
func redactSpanPath(c *gin.Context) {
	span := trace.SpanFromContext(c.Request.Context())
	if !span.IsRecording() {
		c.Next()
		return
	}
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	span.SetAttributes(semconv.URLPath(route))
	c.Next()
}

func (b *Bridge) engine() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.ContextWithFallback = true
	if err := r.SetTrustedProxies(b.TrustedProxies); err != nil {
		b.Logger.Error("invalid trusted proxies; trusting none", "error", err)
		_ = r.SetTrustedProxies(nil)
	}
	// The trace first: the access log and every handler log in its span.
	r.Use(tracing.Middleware(ServiceName), redactSpanPath, requestID(), accessLog(b.Logger), gin.CustomRecovery(func(c *gin.Context, rec any) {
		b.Logger.Error("panic in handler", "route", c.FullPath(), "panic", rec, "request_id", c.GetString(ctxRequestID))
		c.AbortWithStatusJSON(http.StatusInternalServerError, apiError{Error: "internal error"})
	}))
	r.HandleMethodNotAllowed = true
	return r
}

// apiError is every error body: a message and, for validation errors, the
// field at fault.
type apiError struct {
	Error string `json:"Error"`
	Field string `json:"Field,omitempty"`
}

const ctxRequestID = "request_id"

// requestID keeps a sane incoming X-Request-Id or makes one.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-Id")
		if len(id) == 0 || len(id) > 64 || !validResourceID(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(ctxRequestID, id)
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
			slog.Duration("duration", time.Since(start)), slog.String("request_id", c.GetString(ctxRequestID)),
			// The caller, as the trusted proxies (BRIDGE_TRUSTED_PROXIES) say:
			// forged webhooks must be traceable to their source.
			slog.String("client_ip", c.ClientIP()))
	}
}

func (b *Bridge) authenticate(c *gin.Context) {
	scheme, tok, _ := strings.Cut(c.GetHeader("Authorization"), " ")
	if !strings.EqualFold(scheme, "bearer") || subtle.ConstantTimeCompare([]byte(tok), []byte(b.APIToken)) != 1 {
		c.Header("WWW-Authenticate", `Bearer realm="kycflow"`)
		c.AbortWithStatusJSON(http.StatusUnauthorized, apiError{Error: "a valid bearer token is required"})
		return
	}
	c.Next()
}

func deadline(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), d)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

func (b *Bridge) countRoute(c *gin.Context) {
	c.Next()
	b.Metrics.HTTP.WithLabelValues(c.FullPath(), strconv.Itoa(c.Writer.Status())).Inc()
}
