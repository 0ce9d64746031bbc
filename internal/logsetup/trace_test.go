package logsetup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/kycflow/kycflow/internal/logsetup"
)

func TestRecordsCarryTheirTrace(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("test").Start(context.Background(), "op")
	defer span.End()
	tests := []struct {
		name      string
		ctx       context.Context
		wantTrace string
		wantSpan  string
	}{
		{"in a span", ctx, span.SpanContext().TraceID().String(), span.SpanContext().SpanID().String()},
		{"no span", context.Background(), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(logsetup.WithTrace(slog.NewJSONHandler(&buf, nil))).With("component", "x")
			log.InfoContext(tt.ctx, "hello", "k", "v")
			var rec map[string]any
			require.NoError(t, json.Unmarshal(buf.Bytes(), &rec))
			require.Equal(t, "x", rec["component"])
			if tt.wantTrace == "" {
				require.NotContains(t, rec, logsetup.KeyTraceID)
				require.NotContains(t, rec, logsetup.KeySpanID)
				return
			}
			require.Equal(t, tt.wantTrace, rec[logsetup.KeyTraceID])
			require.Equal(t, tt.wantSpan, rec[logsetup.KeySpanID])
		})
	}
}
