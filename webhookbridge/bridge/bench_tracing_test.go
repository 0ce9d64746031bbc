package bridge_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/kycflow/kycflow/internal/tracing"
)

// BenchmarkIntakeTracing is BenchmarkIntake with tracing off (the no-op
// provider: production without OTEL_* variables), on with every request
// sampled, and on with one trace in ten sampled
// (OTEL_TRACES_SAMPLER=parentbased_traceidratio, _ARG=0.1): the SDK's
// provider, its batch processor and an exporter that drops the batches,
// the cost kycflow adds without the network of a collector. Run the modes
// interleaved, so that a busy machine weighs on each alike:
//
//	for i in 1 2 3 4 5 6; do REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench IntakeTracing -benchtime 3s ./webhookbridge/bridge/; done | tee intake.txt
//	benchstat -col /tracing intake.txt
func BenchmarkIntakeTracing(b *testing.B) {
	for _, mode := range []struct {
		name    string
		sampler sdktrace.Sampler // nil: tracing off
	}{
		{"off", nil},
		{"on", sdktrace.AlwaysSample()},
		{"on-ratio-0.1", sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))},
	} {
		b.Run("tracing="+mode.name, func(b *testing.B) {
			otel.SetTextMapPropagator(tracing.Propagator())
			if mode.sampler != nil {
				tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(mode.sampler),
					sdktrace.WithBatcher(tracetest.NewNoopExporter()))
				otel.SetTracerProvider(tp)
				b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			}
			b.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })
			rdb := benchRedis(b)
			br := benchBridge(rdb)
			conc := benchConcurrency(b)
			t := startTarget(b, br.PublicRouter(), conc)
			t.run(b, conc)
		})
	}
}
