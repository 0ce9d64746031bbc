// Package temporalconn builds kycflow's Temporal client options from the
// environment: the connection through Temporal's own environment
// configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
// TEMPORAL_TLS_*, or a TOML profile), payload encryption when
// PAYLOAD_ENCRYPTION_KEY is set, and the SDK's logging through slog. The
// worker, the bridge and the starter all use it so they agree on how
// payloads are encoded.
package temporalconn

import (
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	tlog "go.temporal.io/sdk/log"

	"github.com/kycflow/kycflow/payloadcodec"
)

// Options loads the client options from the environment.
func Options(logger *slog.Logger) (client.Options, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal client options: %w", err)
	}
	codec, err := payloadcodec.FromEnv(os.Getenv)
	if err != nil {
		return client.Options{}, err
	}
	if codec != nil {
		opts.DataConverter, opts.FailureConverter = codec.DataConverter(), codec.FailureConverter()
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
