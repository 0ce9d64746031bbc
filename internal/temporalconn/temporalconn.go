// Package temporalconn builds kycflow's Temporal client options from the
// environment: the connection through Temporal's own environment
// configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
// TEMPORAL_TLS_*, or a TOML profile), and the SDK's logging through slog.
// The worker, the bridge, the starter and the dev stack all use it so they
// agree on how payloads are encoded.
package temporalconn

import (
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	tlog "go.temporal.io/sdk/log"
)

// Options loads the client options from the environment.
func Options(logger *slog.Logger) (client.Options, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal client options: %w", err)
	}
	return Configure(opts, logger), nil
}

// Configure adds kycflow's settings (logging) to opts, for callers that
// build the connection part themselves (tests, the dev stack).
func Configure(opts client.Options, logger *slog.Logger) client.Options {
	if logger != nil {
		opts.Logger = tlog.NewStructuredLogger(logger)
	}
	return opts
}
