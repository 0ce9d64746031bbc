package pprofserve_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/pprofserve"
)

func TestAddr(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		loopback bool // false: refused
	}{
		{"", "", true},
		{"127.0.0.1:6060", "127.0.0.1:6060", true},
		{" [::1]:6060 ", "[::1]:6060", true},
		{"localhost:6060", "localhost:6060", true},
		{"0.0.0.0:6060", "", false},
		{":6060", "", false},
		{"10.0.0.5:6060", "", false},
		{"example.com:6060", "", false},
		{"127.0.0.1", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := pprofserve.Addr(func(string) string { return tc.in })
			if !tc.loopback {
				assert.ErrorIs(t, err, pprofserve.ErrNotLoopback)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestStartServesProfiles(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	require.NoError(t, pprofserve.Start(t.Context(), func(string) string { return addr }, slog.New(slog.DiscardHandler)))
	res, err := http.Get("http://" + addr + "/debug/pprof/heap")
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.NotEmpty(t, body)

	// Unset: nothing listens, nothing fails.
	require.NoError(t, pprofserve.Start(t.Context(), func(string) string { return "" }, slog.New(slog.DiscardHandler)))
}
