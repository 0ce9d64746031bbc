// Package temporalconn builds kycflow's Temporal client options from the
// environment: the connection through Temporal's own environment
// configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
// TEMPORAL_TLS_*, or a TOML profile), payload encryption when
// PAYLOAD_ENCRYPTION_KEY is set, OpenTelemetry tracing, and the SDK's logging through slog. The
// worker, the bridge and the starter all use it so they agree on how
// payloads are encoded, and all carry traces (internal/tracing).
package temporalconn

import (
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"

	"github.com/kycflow/kycflow/internal/tracing"
	"github.com/kycflow/kycflow/payloadcodec"
)

// Options loads the client options: the connection from the environment
// (Temporal's own variables, which the SDK reads), the payload codec from
// getenv (config.Env.Get: PAYLOAD_ENCRYPTION_KEY).
func Options(logger *slog.Logger, getenv func(string) string) (client.Options, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal client options: %w", err)
	}
	codec, err := payloadcodec.FromEnv(getenv)
	if err != nil {
		return client.Options{}, err
	}
	if codec != nil {
		opts.DataConverter, opts.FailureConverter = codec.DataConverter(), codec.FailureConverter()
	}
	return Configure(opts, logger), nil
}

// Configure adds kycflow's settings (logging, tracing) to opts, for
// callers that build the connection part themselves (tests, the dev stack).
func Configure(opts client.Options, logger *slog.Logger) client.Options {
	if logger != nil {
		opts.Logger = tlog.NewStructuredLogger(logger)
	}
	// OpenTelemetry: the client's calls and, as the SDK applies a client's
	// interceptors to its workers, workflows and activities. With tracing
	// off the global provider is the no-op one.
	opts.Interceptors = append([]interceptor.ClientInterceptor{tracing.TemporalInterceptor()}, opts.Interceptors...)
	return opts
}
