package streamtrace_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/kycflow/kycflow/internal/streamtrace"
)

// TestStreamEntryCarriesTheTrace: the producer span's context goes into
// the entry's fields and the consumer span continues it, with the
// messaging conventions' attributes; with tracing off the entry gets no
// field at all.
func TestStreamEntryCarriesTheTrace(t *testing.T) {
	stream := streamtrace.Stream{Name: "kycflow:webhooks", Group: "kycflow-forwarder"}
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))

	otel.SetTracerProvider(noop.NewTracerProvider())
	_, span, fields := stream.StartSend(context.Background())
	span.End()
	assert.Empty(t, fields, "tracing off: the entry is unchanged")
	assert.False(t, streamtrace.On())

	rec := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })
	require.True(t, streamtrace.On())
	_, send, fields := stream.StartSend(context.Background())
	streamtrace.SetEntryID(send, "1-0")
	send.End()
	require.Len(t, fields, 2, "traceparent only (no state, no baggage): %v", fields)
	assert.Equal(t, streamtrace.FieldTraceParent, fields[0])
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

// TestStreamEntryBoundsItsTraceFields: whatever the context carries
// (baggage, a huge tracestate), the entry gets the trace context's fields
// only, each bounded, so that no request can grow the stream.
func TestStreamEntryBoundsItsTraceFields(t *testing.T) {
	stream := streamtrace.Stream{Name: "kycflow:webhooks", Group: "kycflow-forwarder"}
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	t.Cleanup(func() { otel.SetTextMapPropagator(propagation.TraceContext{}) })
	otel.SetTracerProvider(sdktrace.NewTracerProvider())
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })

	incoming := propagation.MapCarrier{
		"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"baggage":     "k0=" + strings.Repeat("A", 4000),
	}
	ctx := otel.GetTextMapPropagator().Extract(context.Background(), incoming)
	_, span, fields := stream.StartSend(ctx)
	span.End()
	require.Len(t, fields, 2, "traceparent only: %v", fields)
	assert.Equal(t, streamtrace.FieldTraceParent, fields[0])

	values := map[string]any{streamtrace.FieldTraceParent: fields[1], streamtrace.FieldTraceState: "k=" + strings.Repeat("v", streamtrace.MaxFieldLen)}
	_, process := stream.StartProcess(context.Background(), "1-0", values)
	defer process.End()
	assert.Equal(t, span.SpanContext().TraceID(), process.SpanContext().TraceID(), "the trace goes on")
	assert.Empty(t, process.SpanContext().TraceState().String(), "an oversized tracestate is dropped")
}
