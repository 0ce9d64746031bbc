// Package devtemporal starts a local Temporal dev server (the Temporal CLI's
// `temporal server start-dev`) set up for kycflow: the onboarding workflow's
// search attributes are registered and visible at once. The CLI binary is
// never downloaded: it is the one `make temporal-cli` installs under
// .tools/bin, or the one $TEMPORAL_CLI names. Tests, the dev stack and
// end-to-end runs share it.
package devtemporal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/kycflow/kycflow/internal/tracing"
	"github.com/kycflow/kycflow/workflows"
)

// EnvCLI names a Temporal CLI binary to use instead of .tools/bin/temporal.
const EnvCLI = "TEMPORAL_CLI"

// toolPath is where `make temporal-cli` installs the CLI, relative to the
// module root.
var toolPath = filepath.Join(".tools", "bin", "temporal")

// ErrNoCLI reports that no Temporal CLI binary was found.
var ErrNoCLI = errors.New("temporal CLI not found: run `make temporal-cli` or set " + EnvCLI)

// Options configures Start. The zero value starts an in-memory server on a
// free port, without the Web UI, with the CLI from CLIPath.
type Options struct {
	// CLIPath is the temporal binary; empty means CLIPath().
	CLIPath string
	// DBFile persists the server in this SQLite file; empty keeps it in
	// memory.
	DBFile string
	// HostPort is the frontend address to bind; empty picks a free port
	// on 127.0.0.1.
	HostPort string
	// Namespace is registered on startup; empty means "default".
	Namespace string
	// EnableUI serves the Web UI; the server runs headless otherwise.
	EnableUI bool
	// UIPort is the Web UI's port; empty means a free one.
	UIPort string
	// LogLevel of the server (debug, info, warn, error); empty means warn.
	LogLevel string
	// Logger is the returned client's logger; nil means the SDK's default.
	Logger log.Logger
	// MetricsHandler, when set, records the client's and its workers'
	// SDK metrics (the dev stack's worker exports them, as in production).
	MetricsHandler client.MetricsHandler
	// Stdout and Stderr receive the server's output; nil means this
	// process's.
	Stdout, Stderr io.Writer
	// ExtraArgs are appended to `temporal server start-dev`.
	ExtraArgs []string
	// NoSearchAttributes leaves kycflow's search attributes unregistered
	// (tests of what a bare namespace does).
	NoSearchAttributes bool
}

// Start starts the dev server and returns it with a connected client
// (server.Client()). The caller stops it with server.Stop().
func Start(ctx context.Context, opts Options) (*testsuite.DevServer, error) {
	exe := opts.CLIPath
	if exe == "" {
		var err error
		if exe, err = CLIPath(); err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(exe); err != nil {
		return nil, fmt.Errorf("temporal CLI %s: %w", exe, err)
	}
	args := []string{
		// Search attributes registered at startup are then readable at once.
		"--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=true",
	}
	sa := SearchAttributes()
	if opts.NoSearchAttributes {
		sa = temporal.SearchAttributes{}
	}
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: exe, // never download
		ClientOptions: &client.Options{HostPort: opts.HostPort, Namespace: opts.Namespace, Logger: opts.Logger, MetricsHandler: opts.MetricsHandler,
			// As every kycflow client (temporalconn.Configure): traced.
			Interceptors: []interceptor.ClientInterceptor{tracing.TemporalInterceptor()}},
		DBFilename:       opts.DBFile,
		EnableUI:         opts.EnableUI,
		UIPort:           opts.UIPort,
		LogLevel:         opts.LogLevel,
		SearchAttributes: sa,
		ExtraArgs:        append(args, opts.ExtraArgs...),
		Stdout:           opts.Stdout,
		Stderr:           opts.Stderr,
	})
	if err != nil {
		return nil, fmt.Errorf("start temporal dev server (%s): %w", exe, err)
	}
	return srv, nil
}

// SearchAttributes are the custom search attributes the onboarding
// workflow upserts. Only their names and types matter: the dev server gets
// `--search-attribute Name=Type` for each.
func SearchAttributes() temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		workflows.SearchAttrStatus.ValueSet(""),
		workflows.SearchAttrUserID.ValueSet(""),
		workflows.SearchAttrSessionID.ValueSet(""),
		workflows.SearchAttrAttempt.ValueSet(0),
		workflows.SearchAttrUserType.ValueSet(""),
		workflows.SearchAttrRenewalDeadline.ValueSet(time.Time{}),
		workflows.SearchAttrAttention.ValueSet(""),
		workflows.SearchAttrReviewSince.ValueSet(time.Time{}),
	)
}

// CLIPath finds the Temporal CLI: $TEMPORAL_CLI when set, otherwise
// .tools/bin/temporal in the module root (the first directory holding a
// go.mod, walking up from the working directory).
func CLIPath() (string, error) {
	if p := os.Getenv(EnvCLI); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvCLI, p, err)
		}
		return p, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, toolPath)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w (looked for %s)", ErrNoCLI, p)
	}
	return p, nil
}

// moduleRoot walks up from the working directory to the one holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w (no go.mod above the working directory)", ErrNoCLI)
		}
		dir = parent
	}
}
