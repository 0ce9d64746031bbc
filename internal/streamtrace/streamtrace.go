// Package streamtrace carries a trace through an entry of a Redis stream,
// with the producer and consumer spans OpenTelemetry's messaging
// conventions name: the webhook stream's intake writes it, the forwarder
// continues it. A leaf (OpenTelemetry's API and SDK only), so that the
// stream's package stays one.
package streamtrace

import (
	"context"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the stream's spans.
const ScopeName = "github.com/kycflow/kycflow"

// On reports whether spans are recorded: the global provider is the SDK's
// (internal/tracing's Setup installed it with an exporter, or a test did).
// Off, the hot paths skip their instrumentation altogether: even a no-op
// span costs the intake allocations (docs/measurements).
func On() bool {
	_, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider)
	return ok
}

// The fields of a stream entry that carry its trace context, under the
// W3C names shortened as the entry's other fields are. An entry written
// with tracing off has none: its size is unchanged. No baggage: whatever a
// propagator injects beyond these is not written.
const (
	FieldTraceParent = "tp"
	FieldTraceState  = "ts"
)

// entryFields maps the propagator's keys to the entry's fields.
var entryFields = map[string]string{"traceparent": FieldTraceParent, "tracestate": FieldTraceState}

// MaxFieldLen bounds a trace field written into or read from an entry: a
// traceparent is 55 characters, W3C advises 512 for a tracestate. A longer
// value is dropped, so that no request can grow the stream's entries.
const MaxFieldLen = 512

// MessagingSystem is messaging.system for the webhook stream: Redis
// streams are no system the conventions list, so they get their own name.
const MessagingSystem = "redis"

// Stream names the stream and the consumer group in the spans of its
// entries.
type Stream struct {
	Name  string // messaging.destination.name: the stream's key
	Group string // messaging.consumer.group.name
}

// StartSend starts the producer span of an entry appended to the stream
// and returns the fields that carry it, to be written into the entry (nil
// when the span is not sampled or tracing is off). The caller ends the span
// once the append is known, after SetEntryID.
func (s Stream) StartSend(ctx context.Context) (context.Context, trace.Span, []string) {
	if !On() {
		return ctx, trace.SpanFromContext(ctx), nil
	}
	ctx, span := otel.Tracer(ScopeName).Start(ctx, "send "+s.Name, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(semconv.MessagingSystemKey.String(MessagingSystem), semconv.MessagingDestinationName(s.Name),
			semconv.MessagingOperationTypeSend, semconv.MessagingOperationName("send")))
	if !span.SpanContext().IsValid() {
		return ctx, span, nil
	}
	carrier := fieldCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	var fields []string
	for k, v := range carrier {
		fields = append(fields, k, v)
	}
	return ctx, span, fields
}

// SetEntryID records the entry's ID (messaging.message.id) on a span.
func SetEntryID(span trace.Span, id string) {
	span.SetAttributes(semconv.MessagingMessageID(id))
}

// StartProcess starts the consumer span of an entry read from the stream
// by the group, a child of the span that appended it when the entry
// carries one (values are the entry's fields).
func (s Stream) StartProcess(ctx context.Context, id string, values map[string]any) (context.Context, trace.Span) {
	if !On() {
		return ctx, trace.SpanFromContext(ctx)
	}
	carrier := fieldCarrier{}
	for prop, field := range entryFields {
		if v, ok := values[field].(string); ok && v != "" && len(v) <= MaxFieldLen {
			carrier[prop] = v
		}
	}
	if len(carrier) > 0 {
		ctx = otel.GetTextMapPropagator().Extract(ctx, carrier)
	}
	return otel.Tracer(ScopeName).Start(ctx, "process "+s.Name, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(semconv.MessagingSystemKey.String(MessagingSystem), semconv.MessagingDestinationName(s.Name),
			semconv.MessagingConsumerGroupName(s.Group), semconv.MessagingMessageID(id),
			semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process")))
}

// fieldCarrier is a propagation.TextMapCarrier keyed by the propagator's
// names; StartSend renames them to the entry's fields.
type fieldCarrier map[string]string

func (c fieldCarrier) Get(key string) string { return c[key] }

func (c fieldCarrier) Set(key, value string) {
	if f, ok := entryFields[key]; ok && len(value) <= MaxFieldLen {
		c[f] = value
	}
}

func (c fieldCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
