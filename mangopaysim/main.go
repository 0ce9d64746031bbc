// Command mangopaysim serves a local Mangopay Sandbox: the REST API v2.01
// endpoints kycflow uses, the hosted verification page, webhook delivery and a
// control API under /_sim/. See docs/simulator.md for its use.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mangopaysim:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", envOr("MANGOPAY_SIM_ADDR", sandbox.DefaultAddr), "listen address (loopback by default)")
	public := flag.String("public-url", os.Getenv("MANGOPAY_SIM_PUBLIC_URL"), "base URL put in HostedUrl links (default http://<addr>)")
	remote := flag.Bool("allow-remote-control", false, "let non-loopback clients use the /_sim/ control API")
	flag.Parse()

	settings := sandbox.DefaultSettings()
	if v := os.Getenv("MANGOPAY_SIM_RETURN_URL_MAX"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			return fmt.Errorf("MANGOPAY_SIM_RETURN_URL_MAX must be an integer of at least 10, got %q", v)
		}
		settings.ReturnURLMaxLength = n
	}
	if v := os.Getenv("MANGOPAY_SIM_OUTCOME_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("MANGOPAY_SIM_OUTCOME_DELAY must be a duration such as 2s, got %q", v)
		}
		settings.OutcomeDelaySeconds = d.Seconds()
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	if *public == "" {
		*public = "http://" + ln.Addr().String()
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	sim := sandbox.New(sandbox.Config{
		ClientID:           envOr("MANGOPAY_CLIENT_ID", sandbox.DefaultClientID),
		APIKey:             envOr("MANGOPAY_API_KEY", sandbox.DefaultAPIKey),
		PublicURL:          *public,
		Settings:           settings,
		AllowRemoteControl: *remote,
		Logger:             logger,
	})
	defer sim.Close()

	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("mangopaysim listening", "addr", ln.Addr().String(), "public_url", *public,
		"client_id", sim.ClientID(), "api_base", *public+"/v2.01/"+sim.ClientID())

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
