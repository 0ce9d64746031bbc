// Package tracing is kycflow's OpenTelemetry tracing: the tracer provider
// of a command (OTLP over HTTP, configured by the standard OTEL_*
// variables, off when none asks for it), the Temporal interceptor that
// carries a trace through workflows and activities, and otelgin's server
// spans (internal/streamtrace carries it through the webhook stream).
//
// Everything here goes through OpenTelemetry's global tracer provider and
// propagator: the instrumentation (otelgin, otelhttp, Temporal's
// interceptor) finds them there, and with tracing off the global provider
// is the no-op one, which costs next to nothing.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"

	"github.com/kycflow/kycflow/internal/streamtrace"
	"github.com/kycflow/kycflow/workflows"
)

// The standard variables that decide whether a command exports traces.
// The exporter reads the others itself (OTEL_EXPORTER_OTLP_HEADERS,
// _TIMEOUT, ..., OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
// OTEL_TRACES_SAMPLER): they are declared in package config.
const (
	EnvSDKDisabled    = "OTEL_SDK_DISABLED"
	EnvTracesExporter = "OTEL_TRACES_EXPORTER"
	EnvEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
)

// Enabled reports whether the environment asks for traces: an OTLP
// endpoint, or OTEL_TRACES_EXPORTER=otlp (the exporter's default endpoint,
// a collector on localhost:4318); never with OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none.
func Enabled(getenv func(string) string) (bool, error) {
	if strings.EqualFold(strings.TrimSpace(getenv(EnvSDKDisabled)), "true") {
		return false, nil
	}
	switch exp := strings.ToLower(strings.TrimSpace(getenv(EnvTracesExporter))); exp {
	case "none":
		return false, nil
	case "otlp":
		return true, nil
	case "":
		return strings.TrimSpace(getenv(EnvEndpoint)) != "" || strings.TrimSpace(getenv(EnvTracesEndpoint)) != "", nil
	default:
		return false, fmt.Errorf("%s %q: kycflow exports traces with otlp (or none)", EnvTracesExporter, exp)
	}
}

// Setup installs the propagator (W3C trace context) and, when
// the environment asks for traces, a tracer provider exporting them by
// OTLP/HTTP with service as the default service name (OTEL_SERVICE_NAME
// overrides it). The returned function flushes and stops the provider; it
// does nothing with tracing off.
func Setup(ctx context.Context, service string, getenv func(string) string) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(Propagator())
	on, err := Enabled(getenv)
	if err != nil || !on {
		return func(context.Context) error { return nil }, err
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(service)))
	if err == nil {
		// The environment's resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) wins.
		var env *resource.Resource
		if env, err = resource.New(ctx, resource.WithFromEnv()); err == nil {
			res, err = resource.Merge(res, env)
		}
	}
	if err != nil && !errors.Is(err, resource.ErrSchemaURLConflict) {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	// The sampler comes from OTEL_TRACES_SAMPLER (parent-based, always on by default).
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// Propagator is the one propagator kycflow uses on every hop: HTTP
// headers, Temporal headers and stream entries. W3C trace context only: no
// kycflow code reads baggage, and baggage carried from a request would be
// copied, whatever its size, into every stream entry and Temporal header
// after it.
func Propagator() propagation.TextMapPropagator {
	return propagation.TraceContext{}
}

// TemporalInterceptor is Temporal's OpenTelemetry interceptor, for the
// Interceptors of every client (the SDK applies it to the client's workers
// too). It uses the global tracer provider, so it may be built before
// Setup runs, and the span key workflows.TraceSpanKey, through which the
// workflow parents the work a webhook causes to the webhook's signal.
func TemporalInterceptor() interceptor.Interceptor {
	i, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		SpanContextKey:    workflows.TraceSpanKey,
		TextMapPropagator: Propagator(),
	})
	if err != nil {
		// Only invalid options fail, and these are fixed.
		panic(fmt.Sprintf("tracing: Temporal interceptor: %v", err))
	}
	return i
}

// ShutdownTimeout bounds the flush of the spans still buffered when a
// command stops.
const ShutdownTimeout = 5 * time.Second

// Start is Setup for a command: it logs whether traces are exported and
// returns the function that flushes them at exit.
func Start(ctx context.Context, service string, getenv func(string) string, logger *slog.Logger) (stop func(), err error) {
	shutdown, err := Setup(ctx, service, getenv)
	if err != nil {
		return nil, err
	}
	on, _ := Enabled(getenv)
	logger.Info("tracing", "exporting", on)
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			logger.Warn("tracing: flush at exit", "error", err)
		}
	}, nil
}

// On reports whether spans are recorded (streamtrace.On).
func On() bool { return streamtrace.On() }

// Middleware is otelgin's server spans, skipped while tracing is off. The
// span continues the trace of the request's traceparent: for listeners
// whose callers are trusted (the internal one).
func Middleware(service string) gin.HandlerFunc {
	return skipWhenOff(otelgin.Middleware(service))
}

// PublicMiddleware is Middleware for a listener anyone may call (the
// Mangopay webhook intake): every request starts a trace of its own. A
// traceparent there is the sender's choice: continued, it would put forged
// spans into a trace kycflow did not start and let a sampled flag
// override the sampler.
func PublicMiddleware(service string) gin.HandlerFunc {
	return skipWhenOff(otelgin.Middleware(service,
		otelgin.WithPropagators(propagation.NewCompositeTextMapPropagator()),
		otelgin.WithSpanStartOptions(trace.WithNewRoot())))
}

func skipWhenOff(mw gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !On() {
			c.Next()
			return
		}
		mw(c)
	}
}
