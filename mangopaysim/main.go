// Command mangopaysim serves a local Mangopay Sandbox: the REST API v2.01
// endpoints kycflow uses, the hosted verification page, webhook delivery and a
// control API under /_sim/. See docs/simulator.md for its use. Its variables are
// declared in package config (docs/configuration.md); `mangopaysim
// --print-config` prints them.
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

	"github.com/kycflow/kycflow/config"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

func main() {
	env, err := config.Load(config.Sim, os.Getenv)
	if config.WantsPrint(os.Args[1:]) {
		os.Exit(config.PrintAndExit(env, err, os.Stdout, os.Stderr))
	}
	if err == nil {
		err = run(env)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mangopaysim:", err)
		os.Exit(1)
	}
}

func run(env *config.Env) error {
	addr := flag.String("addr", env.Get("MANGOPAY_SIM_ADDR"), "listen address (loopback by default)")
	public := flag.String("public-url", env.Get("MANGOPAY_SIM_PUBLIC_URL"), "base URL put in HostedUrl links (default http://<addr>)")
	remote := flag.Bool("allow-remote-control", false, "let non-loopback clients use the /_sim/ control API")
	flag.Bool("print-config", false, "print the effective configuration and exit")
	flag.Parse()

	// The values are checked by config.Load (config.Vars).
	settings := sandbox.DefaultSettings()
	if v := env.Get("MANGOPAY_SIM_RETURN_URL_MAX"); v != "" {
		settings.ReturnURLMaxLength, _ = strconv.Atoi(v)
	}
	if v := env.Get("MANGOPAY_SIM_OUTCOME_DELAY"); v != "" {
		d, _ := time.ParseDuration(v)
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
		ClientID:           env.Get("MANGOPAY_CLIENT_ID"),
		APIKey:             env.Get("MANGOPAY_API_KEY"),
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
