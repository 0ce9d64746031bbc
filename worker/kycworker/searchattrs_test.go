package kycworker_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/devtemporal"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/internal/searchattrs"
	"github.com/kycflow/kycflow/worker/kycworker"
)

// TestRunRefusesANamespaceWithoutTheSearchAttributes: a worker on a
// namespace that lacks kycflow's search attributes would fail every
// workflow task that writes one (a missing KycRenewalDeadline stalls each
// user at their renewal webhook). It refuses to start, naming them and the
// command that registers them; once registered (idempotently), it starts.
func TestRunRefusesANamespaceWithoutTheSearchAttributes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := devtemporal.Start(ctx, devtemporal.Options{NoSearchAttributes: true, Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		t.Skipf("no Temporal dev server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	tc := srv.Client()

	run := func() error {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		rctx, rcancel := context.WithTimeout(ctx, 3*time.Second)
		defer rcancel()
		return kycworker.Run(rctx, kycworker.Deps{Temporal: tc, Redis: redistest.New(t), Logger: slog.New(slog.DiscardHandler), Namespace: "default"}, ln)
	}
	err = run()
	require.Error(t, err, "the worker started on a namespace without its search attributes")
	assert.ErrorIs(t, err, searchattrs.ErrMissing)
	for _, want := range []string{"KycRenewalDeadline (Datetime)", "KycStatus (Keyword)", "KycAttempt (Int)", searchattrs.RegisterCommand} {
		assert.Contains(t, err.Error(), want)
	}

	added, err := searchattrs.Register(ctx, tc, "default")
	require.NoError(t, err)
	assert.Len(t, added, len(searchattrs.Keys))
	added, err = searchattrs.Register(ctx, tc, "default")
	require.NoError(t, err, "registering again is a no-op")
	assert.Empty(t, added)
	require.NoError(t, searchattrs.Check(ctx, tc, "default"))
	assert.NoError(t, run(), "with its search attributes the worker runs until stopped")
}
