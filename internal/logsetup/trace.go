package logsetup

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Attribute names of the trace a record belongs to, as OpenTelemetry's
// log data model names them: a log line leads to its trace and back.
const (
	KeyTraceID = "trace_id"
	KeySpanID  = "span_id"
)

// WithTrace wraps h so that every record logged with a context holding a
// valid span (the *Context methods, LogAttrs) carries trace_id and span_id.
func WithTrace(h slog.Handler) slog.Handler { return traceHandler{h} }

type traceHandler struct{ slog.Handler }

func (t traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String(KeyTraceID, sc.TraceID().String()), slog.String(KeySpanID, sc.SpanID().String()))
	}
	return t.Handler.Handle(ctx, r)
}

func (t traceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return traceHandler{t.Handler.WithAttrs(as)}
}

func (t traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{t.Handler.WithGroup(name)}
}

// TraceAttrs are the trace_id and span_id of ctx's span, for a logger
// whose records are written without that context (nil outside a trace).
func TraceAttrs(ctx context.Context) []any {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return []any{slog.String(KeyTraceID, sc.TraceID().String()), slog.String(KeySpanID, sc.SpanID().String())}
}
