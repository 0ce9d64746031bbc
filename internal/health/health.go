// Package health serves the probes Kubernetes expects of kycflow's
// services: /livez, the process answers (no dependency is checked, so
// that an outage elsewhere never gets a healthy pod restarted), and
// /readyz, each dependency checked at once, ?verbose listing every check.
// A check's cause goes to the log, never to the caller: the probes are
// unauthenticated and causes carry addresses and internals.
package health

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Timeout bounds a readiness probe: each check gets this long.
const Timeout = 2 * time.Second

// The statuses of a check.
const (
	StatusOK          = "ok"
	StatusUnavailable = "unavailable"
)

// Check is one dependency of readiness.
type Check struct {
	// Name is the dependency as the answer names it (Redis, Temporal, ...).
	Name string
	// Optional checks are reported but do not make the service unready:
	// a dependency the service keeps working without (the bridge takes
	// webhooks while Mangopay is away).
	Optional bool
	Run      func(context.Context) error
}

// Result is one check's outcome, as ?verbose lists it.
type Result struct {
	Name     string `json:"Name"`
	Status   string `json:"Status"`
	Optional bool   `json:"Optional"`
	// Milliseconds is how long the check took.
	Milliseconds int64 `json:"Milliseconds"`
}

// Run runs the checks concurrently and reports whether every required one
// passed. A failure is logged with its cause.
func Run(ctx context.Context, checks []Check, log *slog.Logger) (ready bool, results []Result) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	results = make([]Result, len(checks))
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			start := time.Now()
			errs[i] = c.Run(ctx)
			results[i] = Result{Name: c.Name, Status: StatusOK, Optional: c.Optional, Milliseconds: time.Since(start).Milliseconds()}
		})
	}
	wg.Wait()
	ready = true
	for i, c := range checks {
		if errs[i] == nil {
			continue
		}
		results[i].Status = StatusUnavailable
		if !c.Optional {
			ready = false
		}
		log.Warn("not ready", "dependency", c.Name, "optional", c.Optional, "error", errs[i])
	}
	return ready, results
}

// Answer is the body of /readyz: each check's status under its name and,
// with ?verbose, the list of checks.
func Answer(results []Result, verbose bool) map[string]any {
	body := map[string]any{}
	for _, r := range results {
		body[r.Name] = r.Status
	}
	if verbose {
		body["Checks"] = results
	}
	return body
}

// Verbose reports whether the probe asked for every check (?verbose, as
// Kubernetes' own components take it).
func Verbose(r *http.Request) bool {
	_, ok := r.URL.Query()["verbose"]
	return ok
}

// ReadyHandler is /readyz for a net/http mux.
func ReadyHandler(checks func() []Check, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ready, results := Run(r.Context(), checks(), log)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(Answer(results, Verbose(r)))
	}
}

// LiveHandler is /livez (and its alias /healthz): the process answers.
func LiveHandler(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"Status":"ok"}` + "\n"))
}

// Reachable is a check that a TCP connection to rawURL's host opens: that
// Mangopay is reachable (DNS, egress, firewall) without spending a call of
// its rate limit on every probe.
func Reachable(rawURL string) func(context.Context) error {
	return func(ctx context.Context) error {
		u, err := url.Parse(rawURL)
		if err != nil || u.Host == "" {
			return errors.New("no host to reach in " + rawURL)
		}
		host := u.Host
		if u.Port() == "" {
			port := "443"
			if u.Scheme == "http" {
				port = "80"
			}
			host = net.JoinHostPort(u.Hostname(), port)
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", host)
		if err != nil {
			return err
		}
		return conn.Close()
	}
}
