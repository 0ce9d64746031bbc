package tracing_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/kycflow/kycflow/internal/tracing"
)

func TestEnabled(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    bool
		wantErr bool
	}{
		{"nothing set: off", nil, false, false},
		{"an endpoint", map[string]string{tracing.EnvEndpoint: "http://collector:4318"}, true, false},
		{"a traces endpoint", map[string]string{tracing.EnvTracesEndpoint: "http://collector:4318/v1/traces"}, true, false},
		{"otlp named", map[string]string{tracing.EnvTracesExporter: "otlp"}, true, false},
		{"none wins over an endpoint", map[string]string{tracing.EnvTracesExporter: "none", tracing.EnvEndpoint: "http://c:4318"}, false, false},
		{"the SDK disabled", map[string]string{tracing.EnvSDKDisabled: "true", tracing.EnvEndpoint: "http://c:4318"}, false, false},
		{"an exporter kycflow does not ship", map[string]string{tracing.EnvTracesExporter: "zipkin"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tracing.Enabled(func(k string) string { return tt.env[k] })
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestStreamEntryCarriesTheTrace: the producer span's context goes into
// the entry's fields and the consumer span continues it, with the
// messaging conventions' attributes; with tracing off the entry gets no
// field at all.
func TestStreamEntryCarriesTheTrace(t *testing.T) {
	stream := tracing.Stream{Name: "kycflow:webhooks", Group: "kycflow-forwarder"}
	otel.SetTextMapPropagator(tracing.Propagator())

	otel.SetTracerProvider(noop.NewTracerProvider())
	_, span, fields := stream.StartSend(context.Background())
	span.End()
	assert.Empty(t, fields, "tracing off: the entry is unchanged")
	assert.False(t, tracing.On())

	rec := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })
	require.True(t, tracing.On())
	_, send, fields := stream.StartSend(context.Background())
	tracing.SetEntryID(send, "1-0")
	send.End()
	require.Len(t, fields, 2, "traceparent only (no state, no baggage): %v", fields)
	assert.Equal(t, tracing.FieldTraceParent, fields[0])
	values := map[string]any{"t": "USER_KYC_REGULAR", fields[0]: fields[1]}

	_, process := stream.StartProcess(context.Background(), "1-0", values)
	process.End()
	spans := rec.Ended()
	require.Len(t, spans, 2)
	assert.Equal(t, spans[0].SpanContext().TraceID(), spans[1].SpanContext().TraceID(), "one trace")
	assert.Equal(t, spans[0].SpanContext().SpanID(), spans[1].Parent().SpanID(), "process is a child of send")
	attrs := map[string]string{}
	for _, kv := range spans[1].Attributes() {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	assert.Equal(t, map[string]string{
		"messaging.system": "redis", "messaging.destination.name": "kycflow:webhooks", "messaging.consumer.group.name": "kycflow-forwarder",
		"messaging.message.id": "1-0", "messaging.operation.type": "process", "messaging.operation.name": "process",
	}, attrs)

	_, orphan := stream.StartProcess(context.Background(), "2-0", map[string]any{"t": "x"})
	orphan.End()
	assert.False(t, rec.Ended()[2].Parent().IsValid(), "an entry written with tracing off starts its own trace")
}
