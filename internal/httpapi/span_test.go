package httpapi_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/kycflow/kycflow/internal/httpapi"
)

// TestServerSpansKeepTheRouteAndAScrubbedPath: a server span carries the
// route template in http.route and the real path with every parameter
// scrubbed in url.path, so neither the webhook's secret token nor a user
// ID reaches a trace.
func TestServerSpansKeepTheRouteAndAScrubbedPath(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })

	r := httpapi.Engine(slog.New(slog.DiscardHandler), nil)
	r.POST("/webhooks/mangopay/:token", func(c *gin.Context) { c.Status(http.StatusOK) })
	r.GET("/onboardings/:userId/timeline", func(c *gin.Context) { c.Status(http.StatusOK) })
	tests := []struct {
		method, path, secret string
		route, urlPath       string
	}{
		{http.MethodPost, "/webhooks/mangopay/s3cr3t-t0ken", "s3cr3t-t0ken", "/webhooks/mangopay/:token", "/webhooks/mangopay/REDACTED"},
		{http.MethodGet, "/onboardings/user_m_42/timeline", "user_m_42", "/onboardings/:userId/timeline", "/onboardings/REDACTED/timeline"},
	}
	for _, tt := range tests {
		t.Run(tt.route, func(t *testing.T) {
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
			require.Equal(t, http.StatusOK, w.Code)
			spans := rec.Ended()
			require.NotEmpty(t, spans)
			attrs := map[string]string{}
			for _, kv := range spans[len(spans)-1].Attributes() {
				attrs[string(kv.Key)] = kv.Value.Emit()
				assert.False(t, strings.Contains(kv.Value.Emit(), tt.secret), "attribute %s carries %s", kv.Key, tt.secret)
			}
			assert.Equal(t, tt.route, attrs["http.route"])
			assert.Equal(t, tt.urlPath, attrs["url.path"])
		})
	}
}
