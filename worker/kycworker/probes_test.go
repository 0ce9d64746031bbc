package kycworker_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/devtemporal"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/worker/kycworker"
)

// TestProbes: the worker answers /livez and /healthz from the start,
// whatever its dependencies; /readyz turns 200 once it polls with Redis
// and Temporal up, Mangopay's reachability reported without making it
// unready; ?verbose lists every check.
func TestProbes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := devtemporal.Start(ctx, devtemporal.Options{Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		t.Skipf("no Temporal dev server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	mp, err := mangopay.New(mangopay.Config{BaseURL: "http://" + dead.Addr().String(), ClientID: "probe", APIKey: "probe"})
	require.NoError(t, err)
	require.NoError(t, dead.Close())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- kycworker.Run(rctx, kycworker.Deps{Temporal: srv.Client(), Redis: redistest.New(t), Mangopay: mp,
			Logger: slog.New(slog.DiscardHandler), Namespace: "default"}, ln)
	}()
	t.Cleanup(func() { stop(); <-done })

	get := func(path string) (int, map[string]any) {
		res, err := http.Get(base + path)
		if err != nil {
			return 0, nil
		}
		defer res.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body
	}
	require.Eventually(t, func() bool { code, _ := get("/readyz"); return code == http.StatusOK }, time.Minute, 50*time.Millisecond)
	for _, path := range []string{"/livez", "/healthz"} {
		code, body := get(path)
		require.Equal(t, http.StatusOK, code, path)
		assert.Equal(t, map[string]any{"Status": "ok"}, body)
	}
	code, body := get("/readyz?verbose")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok", body["Worker"])
	assert.Equal(t, "ok", body["Temporal"])
	assert.Equal(t, "ok", body["Redis"])
	assert.Equal(t, "unavailable", body["Mangopay"], "reported, not required")
	assert.Len(t, body["Checks"], 4)
}
