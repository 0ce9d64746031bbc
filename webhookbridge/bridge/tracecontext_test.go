package bridge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/kycflow/kycflow/internal/streamtrace"
	"github.com/kycflow/kycflow/internal/tracing"
	"github.com/kycflow/kycflow/webhookstream"
)

// forgedTraceID is the trace a forged webhook claims to belong to.
const forgedTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"

// TestPublicIntakeIgnoresIncomingTraceContext: whoever sends the public
// intake a webhook chooses its headers, so a traceparent there must neither
// pick the trace (nor its sampled flag override the sampler) nor a baggage
// header grow the stored entry.
func TestPublicIntakeIgnoresIncomingTraceContext(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sampler sdktrace.Sampler
		sampled bool
	}{
		{"sampler records nothing", sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0)), false},
		{"sampler records everything", sdktrace.ParentBased(sdktrace.AlwaysSample()), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			otel.SetTextMapPropagator(tracing.Propagator())
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tc.sampler), sdktrace.WithSyncer(exp))
			otel.SetTracerProvider(tp)
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()); otel.SetTracerProvider(noop.NewTracerProvider()) })

			e := newForwarderEnv(t)
			r := newBridge(e.rdb, nil).PublicRouter()
			req := httptest.NewRequest(http.MethodGet, webhookPath+"?EventType=USER_KYC_LIGHT&RessourceId=u_1&Date=1800000000", nil)
			req.Header.Set("traceparent", "00-"+forgedTraceID+"-00f067aa0ba902b7-01")
			req.Header.Set("baggage", "k0="+strings.Repeat("A", 4000)+",k1="+strings.Repeat("B", 3000))
			require.Equal(t, http.StatusOK, serve(r, req).Code)

			entries := streamEntries(t, e.rdb, webhookstream.StreamKey)
			require.Len(t, entries, 1)
			values := entries[0].Values
			_, hasBaggage := values["bg"]
			assert.False(t, hasBaggage, "no baggage stored (the field it once had)")
			for k, v := range values {
				s := v.(string)
				assert.LessOrEqual(t, len(s), 600, "field %s is bounded", k)
				assert.False(t, strings.Contains(s, forgedTraceID), "field %s does not carry the forged trace", k)
			}
			spans := exp.GetSpans()
			if !tc.sampled {
				assert.Empty(t, spans, "the forged sampled flag does not override the sampler")
				if tp, ok := values[streamtrace.FieldTraceParent].(string); ok {
					assert.True(t, strings.HasSuffix(tp, "-00"), "an unsampled trace goes on unsampled: %s", tp)
				}
				return
			}
			require.NotEmpty(t, spans)
			for _, s := range spans {
				assert.NotEqual(t, forgedTraceID, s.SpanContext.TraceID().String(), "span %s starts a trace of its own", s.Name)
			}
			_, hasParent := values[streamtrace.FieldTraceParent]
			assert.True(t, hasParent, "the bridge's own trace goes on")
		})
	}
}
