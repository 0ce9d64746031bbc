// Package pprofserve serves Go's runtime profiles (net/http/pprof) for the
// worker and the bridge when PPROF_ADDR is set: off by default, and only
// ever on a loopback address, since profiles show memory contents (and so
// possibly personal data) to whoever can reach them.
package pprofserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"
)

// EnvAddr names the variable holding the listen address, e.g.
// 127.0.0.1:6060.
const EnvAddr = "PPROF_ADDR"

// ErrNotLoopback refuses an address other processes of the network could
// reach.
var ErrNotLoopback = errors.New(EnvAddr + " must be a loopback address (127.0.0.1:<port>, [::1]:<port> or localhost:<port>)")

// Addr reads PPROF_ADDR through getenv: "" when unset.
func Addr(getenv func(string) string) (string, error) {
	addr := strings.TrimSpace(getenv(EnvAddr))
	if addr == "" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "", fmt.Errorf("%s %q is not host:port: %w", EnvAddr, addr, ErrNotLoopback)
	}
	if host != "localhost" {
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return "", fmt.Errorf("%s %q: %w", EnvAddr, addr, ErrNotLoopback)
		}
	}
	return addr, nil
}

// Handler serves the profiles under /debug/pprof/.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Start serves the profiles on PPROF_ADDR until ctx ends; with PPROF_ADDR
// unset it does nothing. A bad address, or one taken, is an error.
func Start(ctx context.Context, getenv func(string) string, logger *slog.Logger) error {
	addr, err := Addr(getenv)
	if err != nil || addr == "" {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", EnvAddr, err)
	}
	// A CPU profile takes as long as it is asked to: no write timeout.
	srv := &http.Server{Handler: Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() { _ = srv.Serve(ln) }()
	logger.Warn("pprof profiles served (PPROF_ADDR): for profiling only", "addr", ln.Addr().String())
	return nil
}
